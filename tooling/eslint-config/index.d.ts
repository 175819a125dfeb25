import type { Linter } from 'eslint';
export declare function tsvmConfig(options: {
  packageName: string;
  tsconfigRootDir: string;
  ignores?: string[];
}): Linter.Config[];
