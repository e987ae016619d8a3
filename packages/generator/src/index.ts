export { canonicalValor, vendorValor } from './format.ts';
export { generateDay } from './generate.ts';
export type { ExpectedCounts, GeneratedDay, GenerateOptions, Scope } from './types.ts';
