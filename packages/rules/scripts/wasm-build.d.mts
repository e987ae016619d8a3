/** assembly/record-encoder.ts */
export const SOURCE: string;
/** src/wasm/record-encoder.wasm.ts */
export const GENERATED: string;
/** The module compiled from SOURCE, with the options the build always uses. */
export function compileRecordEncoder(): Promise<Uint8Array>;
/** The generated TypeScript module holding `binary`. */
export function generatedModule(binary: Uint8Array): string;
