import { tsvmConfig } from '@tsvm/eslint-config';

export default tsvmConfig({ packageName: 'tsvm', tsconfigRootDir: import.meta.dirname });
