import type { Config } from 'jest';

// Packages published as ESM only (Octokit and its helpers); swc turns them into CommonJS for Jest.
const esmOnly = [
  '@octokit',
  'octokit',
  'universal-user-agent',
  'before-after-hook',
  'universal-github-app-jwt',
  'toad-cache',
  'fast-content-type-parse',
  'json-with-bigint',
  'content-type',
];

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j|mj)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  // These export only an "import" condition for node, which Jest's CommonJS resolver does not try.
  moduleNameMapper: { '^@octokit/(auth-unauthenticated|webhooks-methods)$': '<rootDir>/node_modules/@octokit/$1/dist-node/index.js' },
  setupFiles: ['<rootDir>/test/setup/polyfills.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
};

export default config;
