import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'dist/**', 'web/dist/**', 'artifacts/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', crypto: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly', fetch: 'readonly', performance: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', setImmediate: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Protocol modules are pure: no I/O, no clock or randomness of their own, nothing of the rest of Tessera.
    files: ['src/protocol/**/*.ts'],
    ignores: ['src/protocol/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['fs', 'net', 'http', 'https', 'crypto', 'path', 'os', 'child_process'].map((name) => ({ name, message: 'protocol modules must run in Node and the browser without I/O' })),
        patterns: [
          { group: ['node:*'], message: 'protocol modules must run in Node and the browser without I/O' },
          { group: ['**/infra/**', '**/platform/**', '**/network/**', '**/issuer/**', '**/acquirer/**', '**/merchant/**', '**/device/**', '**/cli/**'], message: 'protocol modules import nothing of the rest' },
        ],
      }],
    },
  },
  {
    // The device is a client: it runs in the browser too, and reaches the platform only through its client.
    files: ['src/device/**/*.ts'],
    ignores: ['src/device/**/*.test.ts', 'src/device/**/*.test-helper.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['fs', 'net', 'http', 'https', 'crypto', 'path', 'os', 'child_process'].map((name) => ({ name, message: 'device code runs in the browser' })),
        patterns: [
          { group: ['node:*'], message: 'device code runs in the browser' },
          { group: ['**/infra/**', '!**/infra/transport.js', '**/platform/**', '!**/platform/client.js', '**/network/**', '**/issuer/**', '**/acquirer/**', '**/merchant/**', '**/cli/**', '**/server/**'], message: 'the device imports only protocol modules and the platform client' },
        ],
      }],
    },
  },
);
