import { defineConfig } from 'tsup';

// The whole-machine policy benchmark, bundled from the workspace sources like the run-loop benchmark.
export default defineConfig({
  entry: { 'policy-machine': 'bench/policy-machine.ts' },
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
