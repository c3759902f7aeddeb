import * as StateBackend from "../../src/StateBackend.ts"
import { backendSuite } from "../../src/testing/backendSuite.ts"

backendSuite("memory backend", StateBackend.layerMemory)
