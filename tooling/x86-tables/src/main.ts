import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DECODER_DIR, GENERATED_DIR, generate } from './generate.js';

// Run from tooling/x86-tables/dist after bundling, so the decoder is found from the working directory.
const decoderDir = process.argv[2] ?? resolve(process.cwd(), '..', '..', 'packages', 'x86-decoder');
const outDir = resolve(decoderDir, GENERATED_DIR);
mkdirSync(outDir, { recursive: true });
const files = generate(decoderDir === '' ? DECODER_DIR : decoderDir);
for (const [name, text] of files) writeFileSync(resolve(outDir, name), text);
process.stdout.write(`wrote ${files.size} files to ${outDir}\n`);
