/** The fault suite: the real system as separate processes, with Postgres stopped and services killed. */
const base = require('./jest.config.js');

/** @type {() => Promise<import('jest').Config>} */
module.exports = async () => ({
  ...(await base()),
  testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // Each file runs a whole system; two at once on two cores would measure contention, not faults.
  maxWorkers: 1,
  testTimeout: 120_000,
});
