import { tsvmConfig } from '@tsvm/eslint-config';

export default tsvmConfig({ packageName: 'tsvmd', tsconfigRootDir: import.meta.dirname });
