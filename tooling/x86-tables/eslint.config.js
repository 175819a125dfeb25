import { tsvmConfig } from '@tsvm/eslint-config';

export default [
  ...tsvmConfig({ packageName: '@tsvm/x86-tables', tsconfigRootDir: import.meta.dirname }),
  // The generator is a build helper of @tsvm/x86-decoder: it reads the decoder's register vocabulary.
  { rules: { 'no-restricted-imports': 'off' } },
];
