// bench/cluster/run.sh: the entry-point measurement (entries.bench.ts) on the real one-node
// cluster; a benchmark, run by jest only for its TypeScript and the install helpers it shares
// with `make e2e-node`.
module.exports = async () => {
  const { default: root } = await import('../../../jest.config.js');
  const integration = root.projects.find((project) => project.displayName === 'integration');
  return {
    ...integration,
    displayName: 'bench-cluster',
    rootDir: '../../..',
    testMatch: ['<rootDir>/test/e2e/node/entries.bench.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    maxWorkers: 1,
  };
};
