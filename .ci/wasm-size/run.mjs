// Runs the WASM module as an edge worker would (Cloudflare Workers, Deno Deploy, Node).
//
//   node run.mjs MODULE.wasm                    size probe: load the key, sign, build a request
//   node run.mjs MODULE.wasm LINE_EMULATOR_BIN  full round trip (module built with `round-trip`):
//       the module builds the request, fetch() sends it to line-emulator on 127.0.0.1, the
//       module parses the answer and keeps the token in its cache.
//
// The module is instantiated with no imports at all: no clock, no OS RNG. Time comes from
// Date.now(); blinding randomness from crypto.getRandomValues.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [wasmPath, emulatorPath] = process.argv.slice(2);
const bytes = readFileSync(wasmPath);
const { instance } = await WebAssembly.instantiate(bytes, {});
const m = instance.exports;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function fail(message) {
  console.error(`wasm: ${message}`);
  process.exit(1);
}
// Copies bytes into the module's input buffer; returns their length.
function input(data) {
  const at = m.input_ptr();
  if (data.length > m.input_capacity()) fail(`input of ${data.length} bytes is too large`);
  new Uint8Array(m.memory.buffer, at, data.length).set(data);
  return data.length;
}
const output = () => decoder.decode(new Uint8Array(m.memory.buffer, m.output_ptr(), m.output_len()).slice());
const entropy = () => m.feed_entropy(input(crypto.getRandomValues(new Uint8Array(2048))));
const now = () => BigInt(Math.floor(Date.now() / 1000));

if (!m.load_key()) fail(`load_key: ${output()}`);
const publicJwk = output();
entropy();
const len = m.sign_and_build(now());
if (!(len > 400)) fail(`sign_and_build returned ${len}`);
console.log(`wasm module: ${bytes.length} bytes, no imports; sign_and_build -> request body of ${len} bytes`);
if (!emulatorPath) process.exit(0);

// --- The round trip, against line-emulator on 127.0.0.1 (a free port, stopped at the end).
if (typeof m.poll !== "function") fail("this module was built without the round-trip feature");
const dir = mkdtempSync(join(tmpdir(), "wasm-round-trip-"));
writeFileSync(join(dir, "public.jwk.json"), publicJwk);
const emulator = spawn(emulatorPath, [
  "--port", "0", "--channel", "1234567890:s3cret", "--public-key", join(dir, "public.jwk.json"),
]);
const stop = () => { emulator.kill(); rmSync(dir, { recursive: true, force: true }); };
const lineOf = (stream, pattern) => new Promise((resolve, reject) => {
  let seen = "";
  stream.on("data", (chunk) => {
    seen += chunk;
    const match = seen.match(pattern);
    if (match) resolve(match);
  });
  emulator.on("exit", (code) => reject(new Error(`line-emulator exited (${code}): ${seen}`)));
});
let base, kid;
try {
  [, base] = await lineOf(emulator.stderr, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
  [, kid] = await lineOf(emulator.stdout, /"kid":"([^"]+)"/);
} catch (e) {
  stop();
  fail(e.message);
}

// What a worker does: the module decides, JavaScript does the I/O. The token it returns goes
// into the Authorization header of the worker's Messaging API calls.
let fetches = 0;
async function token() {
  for (let step = 0; step < 4; step++) {
    entropy(); // blinding for the assertion the cache may sign
    const code = m.poll(now());
    if (code === 1) return output();
    if (code !== 2) throw new Error(`poll returned ${code}: ${output()}`);
    // The request as text: "METHOD URL", header lines, an empty line, the body.
    const [head, body] = output().split("\n\n");
    const [requestLine, ...headerLines] = head.split("\n");
    const [method, url] = requestLine.split(" ");
    const headers = headerLines.map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)]);
    fetches++;
    const response = await fetch(url, { method, headers, body });
    const answer = new Uint8Array(await response.arrayBuffer());
    if (!m.handle_response(response.status, input(answer), now())) {
      throw new Error(`handle_response: ${output()}`);
    }
  }
  throw new Error("no token after 4 polls");
}

try {
  entropy(); // the cache's jitter seed comes from the host's entropy
  if (!m.configure(input(encoder.encode(`${base} ${kid}`)))) throw new Error(`configure: ${output()}`);
  const first = await token();
  const sent = fetches;
  const second = await token(); // from the cache: no request this time
  if (first.length < 20 || first !== second || fetches !== sent || sent !== 1) {
    throw new Error(`the cache did not keep the token (${fetches} requests)`);
  }
  console.log(`wasm round trip: request built in WASM, sent by fetch to line-emulator at ${base}, ` +
    `stateless token (${first.length} chars) parsed and kept in the cache`);
} catch (e) {
  stop();
  fail(e.message);
}
stop();
