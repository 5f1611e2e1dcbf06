import js from '@eslint/js';
import tseslint from 'typescript-eslint';
// Last: turns off the stylistic rules that Prettier settles (`npm run format`).
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.pm2/**', '.local/**', 'perf/results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        __ENV: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // ValidateNested on a list descends into items that are lists themselves: IsListOf checks each item first.
    files: ['src/**/*.ts'],
    ignores: ['src/common/validation.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'class-validator',
              importNames: ['ValidateNested'],
              message: 'Use IsListOf (src/common/validation.ts): it checks that each item is an object first.',
            },
          ],
        },
      ],
    },
  },
  prettier,
);
