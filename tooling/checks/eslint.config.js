import { tsvmConfig } from '@tsvm/eslint-config';

export default tsvmConfig({ packageName: '@tsvm/repo-checks', tsconfigRootDir: import.meta.dirname });
