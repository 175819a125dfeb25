import { tsvmConfig } from '@tsvm/eslint-config';

export default tsvmConfig({ packageName: '@tsvm/mmu', tsconfigRootDir: import.meta.dirname });
