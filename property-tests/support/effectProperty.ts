/**
 * Property-test settings shared by the suites: the number of runs comes from the environment so
 * CI runs hundreds of cases and `npm run test:property:long` many thousands.
 */
export const numRuns = (fallback: number): number => {
  const fromEnv = Number(process.env.DATAFLARE_PROPERTY_RUNS)
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : fallback
}
