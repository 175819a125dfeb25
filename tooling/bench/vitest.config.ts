import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through the `@tsvm/source` condition.
export default defineConfig({
  resolve: { conditions: ['@tsvm/source'] },
  ssr: { resolve: { conditions: ['@tsvm/source'] } },
  test: {
    include: ['src/**/*.test.ts'],
  },
});
