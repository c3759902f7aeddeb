/**
 * Entry point of the `dataflare` executable (`bin/dataflare` runs this file with Node ≥ 22).
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { main, teardown } from "./Cli.ts"

main.pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain({ teardown }))
