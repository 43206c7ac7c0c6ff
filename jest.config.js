// Unit tests (`*.test.ts`) need nothing running; integration tests (`*.int.test.ts` beside the
// code, and everything under test/) talk to real Redis, NATS, PostgreSQL (and kube-apiserver).
// Every route mounted by the kit's mountRoutes checks its answers against their declared schemas
// in the tests (a wrong answer fails a test with 500 response-contract); never set in production.
process.env.EVSHARE_CHECK_RESPONSES ??= '1';

const transform = {
  '^.+\\.(t|j|mj)s$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
};
const moduleNameMapper = {
  '^@evshare/operator$': '<rootDir>/operator/src/index.ts',
  '^@evshare/sim-([a-z-]+)$': '<rootDir>/sims/$1/src/index.ts',
  '^@evshare/([a-z-]+)$': '<rootDir>/services/$1/src/index.ts',
};
// ESM-only dependencies are compiled to CommonJS for jest.
const transformIgnorePatterns = ['/node_modules/(?!(@kubernetes/client-node|openid-client|oauth4webapi|jose)/)'];
const common = { transform, moduleNameMapper, transformIgnorePatterns, testEnvironment: 'node' };

module.exports = {
  // Set here: jest ignores testTimeout inside a project entry.
  testTimeout: 60_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/services/*/src/**/*.test.ts', '<rootDir>/operator/src/**/*.test.ts', '<rootDir>/sims/*/src/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.int\\.test\\.ts$', '/node_modules/', '/dist/'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/**/src/**/*.int.test.ts', '<rootDir>/test/**/*.test.ts'],
      // The cluster side of the e2e suite needs a cluster (`make e2e-node`, `make e2e`).
      testPathIgnorePatterns: ['/node_modules/', '/dist/', ...(process.env.EVSHARE_E2E_URL ? [] : ['/test/e2e/cluster\\.test\\.ts$'])],
    },
  ],
};
