import * as StateBackend from "../../src/StateBackend.ts"
import { backendSuite } from "../../src/testing/vitest.ts"

backendSuite("memory backend", StateBackend.layerMemory)
