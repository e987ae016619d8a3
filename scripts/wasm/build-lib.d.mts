export type ModuleName = 'record-encoder' | 'shard-matcher';
/** Each module: its AssemblyScript source, and the TypeScript module that holds it compiled. */
export const MODULES: Record<ModuleName, { source: string; generated: string; constant: string }>;
/** The module compiled from its source, with the options the build always uses. */
export function compileModule(name: ModuleName): Promise<Uint8Array>;
/** The generated TypeScript module holding `binary`. */
export function generatedModule(name: ModuleName, binary: Uint8Array): string;
