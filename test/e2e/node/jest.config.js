// `make e2e-node`: the e2e suite (test/e2e/*.test.ts) against the chart on the real one-node
// cluster that the global setup starts and installs once for every file.
// Jest accepts a config that is an async function: it loads the root config with import().
module.exports = async () => {
  const { default: root } = await import('../../../jest.config.js');
  const integration = root.projects.find((project) => project.displayName === 'integration');
  return {
    ...integration,
    displayName: 'e2e-node',
    rootDir: '../../..',
    testMatch: ['<rootDir>/test/e2e/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    testTimeout: 600_000,
    globalSetup: '<rootDir>/test/e2e/node/setup.ts',
    globalTeardown: '<rootDir>/test/e2e/node/teardown.ts',
    // One file at a time: they share one cluster and its APP group.
    maxWorkers: 1,
  };
};
