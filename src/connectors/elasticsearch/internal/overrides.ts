/**
 * Overrides of the client's options for tests (e.g. `@elastic/elasticsearch-mock`'s connection
 * class). In a module of its own that imports nothing from the client: the sink's and source's
 * public declarations name this type, and the client's own declarations reference optional peers
 * (`apache-arrow`) that a user's `tsc` with `skipLibCheck: false` cannot resolve.
 */
export interface ClientOverrides {
  readonly Connection: abstract new(...args: never) => unknown
}
