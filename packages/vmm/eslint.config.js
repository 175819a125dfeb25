import { tsvmConfig } from '@tsvm/eslint-config';

export default tsvmConfig({ packageName: '@tsvm/vmm', tsconfigRootDir: import.meta.dirname });
