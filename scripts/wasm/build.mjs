// pnpm build:wasm: compiles every AssemblyScript module (build-lib.mjs) into its generated module.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { compileModule, generatedModule, MODULES } from './build-lib.mjs';

for (const name of /** @type {(keyof typeof MODULES)[]} */ (Object.keys(MODULES))) {
  const binary = await compileModule(name);
  await mkdir(dirname(MODULES[name].generated), { recursive: true });
  await writeFile(MODULES[name].generated, generatedModule(name, binary));
  process.stdout.write(`${MODULES[name].generated}: ${binary.length} bytes of WebAssembly\n`);
}
