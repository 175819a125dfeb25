import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { forbiddenDependencies } from './boundaries.js';

/**
 * The flat ESLint config of one tsvm package: type-aware typescript-eslint rules plus the
 * dependency direction of ARCHITECTURE.md (a package importing one it must not is a lint error).
 * @param {{ packageName: string, tsconfigRootDir: string, ignores?: string[] }} options
 */
export function tsvmConfig({ packageName, tsconfigRootDir, ignores = [] }) {
  const forbidden = forbiddenDependencies(packageName);
  return tseslint.config(
    { ignores: ['dist/**', 'coverage/**', 'node_modules/**', '**/*.js', '**/*.cjs', '**/*.mjs', ...ignores] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
      languageOptions: {
        parserOptions: { projectService: true, tsconfigRootDir },
      },
      rules: {
        '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
        '@typescript-eslint/consistent-type-imports': 'error',
        '@typescript-eslint/no-floating-promises': 'error',
        '@typescript-eslint/only-throw-error': 'error',
        // Contract methods are async; an implementation that happens to finish synchronously is fine.
        '@typescript-eslint/require-await': 'off',
        'no-restricted-imports': [
          'error',
          {
            patterns: forbidden.map((p) => ({
              group: [p, `${p}/*`],
              message: `${packageName} must not depend on ${p} (see ARCHITECTURE.md, "Dependencies point one way").`,
            })),
          },
        ],
      },
    },
    {
      files: ['**/*.test.ts', 'bench/**/*.ts', 'test/**/*.ts'],
      rules: {
        '@typescript-eslint/no-non-null-assertion': 'off',
        '@typescript-eslint/no-unsafe-assignment': 'off',
        '@typescript-eslint/no-unsafe-member-access': 'off',
      },
    },
  );
}
