import { tsvmConfig } from '@tsvm/eslint-config';

export default [
  ...tsvmConfig({ packageName: '@tsvm/bench', tsconfigRootDir: import.meta.dirname }),
  // A benchmark drives the whole machine from outside, as an app does: it may import any @tsvm package.
  { rules: { 'no-restricted-imports': 'off' } },
];
