// Tests on the test bed: one control plane and one AWS fake per run, shared by
// every file, so files run one at a time (see testbed/README.md).
import base from './jest.base.js';
export default {
  ...base,
  displayName: `integration:${process.env.AWI_BACKEND ?? 'local'}`,
  testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
  globalSetup: '<rootDir>/test/harness/global-setup.js',
  globalTeardown: '<rootDir>/test/harness/global-teardown.js',
  maxWorkers: 1,
  testTimeout: 120000,
};
