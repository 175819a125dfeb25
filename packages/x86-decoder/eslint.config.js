import { tsvmConfig } from '@tsvm/eslint-config';

export default tsvmConfig({ packageName: '@tsvm/x86-decoder', tsconfigRootDir: import.meta.dirname });
