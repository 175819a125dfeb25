import { defineConfig } from 'tsup';

// Bundles the generator (and the decoder's register vocabulary it reads from source) into one script.
export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  outDir: 'dist',
  clean: true,
  silent: true,
  target: 'node20',
  noExternal: [/@tsvm\//],
  esbuildOptions(options) {
    options.conditions = ['@tsvm/source'];
  },
});
