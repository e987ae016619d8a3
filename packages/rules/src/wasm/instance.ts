/** The memory of a WebAssembly instance, as its exports give it. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** What the project uses of the WebAssembly API (its types are in no lib the project compiles with). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** This thread's compiled modules, by their base64 bytes. */
const compiled = new Map<string, object>();

/**
 * A new instance (no imports) of the module whose bytes are `base64` (a generated
 * `src/wasm/*.wasm.ts`), compiled once per thread: its exports.
 */
export function instantiateWasm<T>(base64: string): T {
  let module = compiled.get(base64);
  if (module === undefined) {
    module = new wasmApi.Module(Buffer.from(base64, 'base64'));
    compiled.set(base64, module);
  }
  return new wasmApi.Instance(module, {}).exports as T;
}

const PAGE = 65536;

/**
 * `memory` grown (in whole pages) to hold at least `bytes`; whether it grew: views over its old
 * buffer are then detached, and the caller makes them again.
 */
export function reserveWasmMemory(memory: WasmMemory, bytes: number): boolean {
  if (memory.buffer.byteLength >= bytes) return false;
  memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
  return true;
}
