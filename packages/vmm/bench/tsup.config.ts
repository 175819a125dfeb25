import { defineConfig } from 'tsup';

// Bundles the benchmarks (run loop, policy I/O, whole-machine policy) with the workspace packages'
// TypeScript sources (the `@tsvm/source` condition), so they measure the code as it is without
// building the packages first.
export default defineConfig({
  entry: {
    'run-loop': 'bench/run-loop.ts',
    'policy-io': 'bench/policy-io.ts',
    'policy-machine': 'bench/policy-machine.ts',
  },
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
