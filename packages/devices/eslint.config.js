import { tsvmConfig } from '@tsvm/eslint-config';

export default tsvmConfig({ packageName: '@tsvm/devices', tsconfigRootDir: import.meta.dirname });
