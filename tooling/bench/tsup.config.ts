import { defineConfig } from 'tsup';

// Bundles the benchmark with the workspace packages' TypeScript sources (the `@tsvm/source`
// condition), so it measures tsvm as the tree is, without building the packages first. v86 stays
// external: it loads its wasm file from its own package folder.
export default defineConfig({
  entry: ['src/linux-boot.ts', 'src/peer-process.ts'],
  outDir: 'dist',
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  bundle: true,
  noExternal: [/^@tsvm\//],
  external: ['v86'],
  // Bundled CommonJS dependencies (yaml, through @tsvm/vmm) call require() for Node's modules.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  clean: true,
  silent: true,
  esbuildOptions(options) {
    options.conditions = ['@tsvm/source'];
  },
});
