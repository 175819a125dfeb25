import { tsvmConfig } from '@tsvm/eslint-config';

export default tsvmConfig({ packageName: 'tsvm-lab', tsconfigRootDir: import.meta.dirname });
