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

const net = require('node:net');

/**
 * Tests that need RabbitMQ are named `*.broker.test.ts` and talk to AMQP_TEST_URL (default: the
 * broker on this machine). Without a broker they are left out with one line saying so, unless
 * REQUIRE_BROKER=1 (as .ci/run sets), which makes a missing broker an error.
 */
async function brokerTests() {
  const url = process.env.AMQP_TEST_URL || 'amqp://guest:guest@127.0.0.1:5672';
  const { hostname, port } = new URL(url);
  const reachable = await new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 5672), timeout: 1_000 });
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
  if (reachable) {
    process.env.IMAGEHUB_TEST_AMQP_URL = url;
    return [];
  }
  if (process.env.REQUIRE_BROKER === '1') {
    throw new Error(
      `REQUIRE_BROKER=1 but no RabbitMQ answers at ${hostname}:${port || 5672} (AMQP_TEST_URL)`,
    );
  }
  // Jest reads its configuration more than once per run; say it once.
  if (process.env.IMAGEHUB_BROKER_NOTICE) return ['\\.broker\\.test\\.ts$'];
  process.env.IMAGEHUB_BROKER_NOTICE = '1';
  console.log(
    `RabbitMQ tests (*.broker.test.ts) not run: no broker at ${hostname}:${port || 5672}; set AMQP_TEST_URL to one (.ci/run requires it).`,
  );
  return ['\\.broker\\.test\\.ts$'];
}

/** @type {() => Promise<import('jest').Config>} */
module.exports = async () => ({
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['development', 'node', 'require', 'default'] },
  roots: ['<rootDir>'],
  testMatch: [
    '<rootDir>/{service-kit,test-kit,db,messaging,subgraph-auth,subgraph-image,gateway,loadtest,web}/src/**/*.test.ts',
    '<rootDir>/{k8s,scripts,test}/**/*.test.ts',
  ],
  // The fault suite stops Postgres and kills services: it has its own run (`npm run test:faults`).
  testPathIgnorePatterns: [
    '/node_modules/',
    '/dist/',
    '<rootDir>/test/faults/',
    ...(browserTestIgnored ? ['<rootDir>/test/browser/'] : []),
    ...(await brokerTests()),
  ],
  transform: { '^.+\\.ts$': swc },
  globalSetup: '<rootDir>/db/src/test-support/global-setup.ts',
  globalTeardown: '<rootDir>/db/src/test-support/global-teardown.ts',
  testTimeout: 30_000,
  // Two cores: more workers than that only adds contention with the servers under test.
  maxWorkers: 2,
});
