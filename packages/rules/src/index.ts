export * from './blocks.ts';
export * from './csv.ts';
export * from './data.ts';
export * from './hash.ts';
export * from './header.ts';
export * from './record.ts';
export * from './text.ts';
export * from './valor.ts';
