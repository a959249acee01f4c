/** One jest run over every workspace; each test file sits beside the code it tests. */
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  },
];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['development', 'node', 'require', 'default'] },
  roots: ['<rootDir>'],
  testMatch: [
    '<rootDir>/{service-kit,test-kit,db,subgraph-auth,subgraph-image,gateway,loadtest}/src/**/*.test.ts',
    '<rootDir>/{k8s,scripts,test}/**/*.test.ts',
  ],
  // The fault suite stops Postgres and kills services: it has its own run (`npm run test:faults`).
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/test/faults/'],
  transform: { '^.+\\.ts$': swc },
  globalSetup: '<rootDir>/db/src/test-support/global-setup.ts',
  globalTeardown: '<rootDir>/db/src/test-support/global-teardown.ts',
  testTimeout: 30_000,
  // Two cores: more workers than that only adds contention with the servers under test.
  maxWorkers: 2,
};
