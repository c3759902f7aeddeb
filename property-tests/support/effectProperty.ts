/**
 * Property-test settings shared by the suites: the number of runs comes from the environment so
 * CI runs hundreds of cases and `npm run test:property:long` many thousands.
 */
export const numRuns = (fallback: number): number => {
  const fromEnv = Number(process.env.DATAFLARE_PROPERTY_RUNS)
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : fallback
}

/**
 * The timeout of a property test of `runs` cases that take up to `perRunMs` each (a generous
 * bound: several times what one case takes on a quiet machine, since the machine may be loaded),
 * never below `minimumMs`. With `DATAFLARE_PROPERTY_RUNS=5000` (`npm run test:property:long`) a
 * suite gets the time its runs need instead of the fixed timeout of the default run count.
 */
export const timeoutFor = (runs: number, perRunMs: number, minimumMs: number): number =>
  Math.max(minimumMs, 60_000 + runs * perRunMs)

