import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // cedar-wasm's quirks (byte offsets, "success" answers carrying errors, preparsed names) stay in one module.
    files: ['src/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/policy/cedar/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@cedar-policy/*'] }],
    },
  },
  {
    // The decision core is pure: values in, values out. It imports its own files and errors.ts, nothing else.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: '^(?!\\./[^/]+$|\\.\\./errors\\.js$)', message: 'src/core imports only src/core and src/errors.ts' }],
      }],
    },
  },
  {
    // Dependencies point inward: only the composition root and the servers reach the transport, nobody the CLI.
    files: ['src/**/*.ts'],
    ignores: ['src/main.ts', 'src/server.ts', 'src/cluster*.ts', 'src/serve/**', 'src/transport/**', 'src/cli/**', 'src/core/**', 'src/policy/cedar/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@cedar-policy/*', '**/transport/*', '**/cli/*', '**/main.js'] }],
    },
  },
);
