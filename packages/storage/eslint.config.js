import { tsvmConfig } from '@tsvm/eslint-config';

export default tsvmConfig({ packageName: '@tsvm/storage', tsconfigRootDir: import.meta.dirname });
