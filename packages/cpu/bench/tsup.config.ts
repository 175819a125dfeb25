import { defineConfig } from 'tsup';

// Bundles the benchmark with the workspace packages' TypeScript sources (the `@tsvm/source`
// condition), so it measures the code as it is without building the packages first.
export default defineConfig({
  entry: { mips: 'bench/mips.ts', paged: 'bench/paged.ts', x87: 'bench/x87.ts' },
  outDir: 'bench/dist',
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  bundle: true,
  noExternal: [/^@tsvm\//],
  clean: true,
  silent: true,
  esbuildOptions(options) {
    options.conditions = ['@tsvm/source'];
  },
});
