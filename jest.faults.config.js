/** The fault suite: the real system as separate processes, with Postgres stopped and services killed. */
const base = require('./jest.config.js');

/** @type {() => Promise<import('jest').Config>} */
module.exports = async () => {
  const config = await base();
  return {
    ...config,
    testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
    // The RabbitMQ cases (*.broker.test.ts) are left out, with one line, when no broker answers.
    testPathIgnorePatterns: [
      '/node_modules/',
      '/dist/',
      ...config.testPathIgnorePatterns.filter((pattern) => pattern.includes('broker')),
    ],
    // Each file runs a whole system; two at once on two cores would measure contention, not faults.
    maxWorkers: 1,
    testTimeout: 120_000,
  };
};
