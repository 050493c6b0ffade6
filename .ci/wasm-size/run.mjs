// Instantiates the module and calls it once: the WASM build really signs and builds.
import { readFileSync } from "node:fs";
const bytes = readFileSync(process.argv[2]);
const { instance } = await WebAssembly.instantiate(bytes, {});
const len = instance.exports.sign_and_build(1700000000n, 42n);
if (!(len > 400)) { console.error(`sign_and_build returned ${len}`); process.exit(1); }
console.log(`wasm module: ${bytes.length} bytes; sign_and_build -> request body of ${len} bytes`);
