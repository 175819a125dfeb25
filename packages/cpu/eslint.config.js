import { tsvmConfig } from '@tsvm/eslint-config';

export default tsvmConfig({ packageName: '@tsvm/cpu', tsconfigRootDir: import.meta.dirname });
