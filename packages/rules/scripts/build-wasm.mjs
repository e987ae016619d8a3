// pnpm --filter @recon/rules build:wasm: regenerates src/wasm/record-encoder.wasm.ts.
import { writeFile } from 'node:fs/promises';
import { compileRecordEncoder, GENERATED, generatedModule } from './wasm-build.mjs';

const binary = await compileRecordEncoder();
await writeFile(GENERATED, generatedModule(binary));
process.stdout.write(`${GENERATED}: ${binary.length} bytes of WebAssembly\n`);
