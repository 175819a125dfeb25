import { defineConfig } from 'tsup';

// The policy I/O benchmark, bundled from the workspace sources like the run-loop benchmark.
export default defineConfig({
  entry: { 'policy-io': 'bench/policy-io.ts' },
  outDir: 'bench/dist',
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  bundle: true,
  noExternal: [/^@tsvm\//],
  clean: false,
  silent: true,
  esbuildOptions(options) {
    options.conditions = ['@tsvm/source'];
  },
});
