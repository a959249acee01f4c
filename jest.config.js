/** One jest run over every workspace; each test file sits beside the code it tests. */
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  },
];

const { existsSync } = require('node:fs');

/**
 * The browser test (test/browser/) drives Debian's chromium. CI installs it (scripts/install-chromium.sh)
 * and always runs the test, failing if it cannot; a developer's machine without it leaves the file
 * out and says so once.
 */
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const browserTestIgnored = !existsSync(chromium) && process.env.CI !== 'true';
if (browserTestIgnored && !process.env.JEST_WORKER_ID) {
  console.log(
    `test/browser: not run, because ${chromium} is missing (install it with scripts/install-chromium.sh, or set CHROMIUM_PATH)`,
  );
}

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['development', 'node', 'require', 'default'] },
  roots: ['<rootDir>'],
  testMatch: [
    '<rootDir>/{service-kit,test-kit,db,subgraph-auth,subgraph-image,gateway,loadtest,web}/src/**/*.test.ts',
    '<rootDir>/{k8s,scripts,test}/**/*.test.ts',
  ],
  // The fault suite stops Postgres and kills services: it has its own run (`npm run test:faults`).
  testPathIgnorePatterns: [
    '/node_modules/',
    '/dist/',
    '<rootDir>/test/faults/',
    ...(browserTestIgnored ? ['<rootDir>/test/browser/'] : []),
  ],
  transform: { '^.+\\.ts$': swc },
  globalSetup: '<rootDir>/db/src/test-support/global-setup.ts',
  globalTeardown: '<rootDir>/db/src/test-support/global-teardown.ts',
  testTimeout: 30_000,
  // Two cores: more workers than that only adds contention with the servers under test.
  maxWorkers: 2,
};
