// `npm run test:compat`: the black-box suite against the embedded server, moto and Ceph RGW
// (test/compat). Kept out of `npm test`'s run: it starts real servers and takes minutes.
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/compat'],
  testMatch: ['**/*.compat.test.ts'],
  testPathIgnorePatterns: [],
  globalSetup: '<rootDir>/test/compat/global-setup.ts',
  globalTeardown: '<rootDir>/test/compat/global-teardown.ts',
  // Servers are shared by every file; one file at a time keeps a 2-core machine's timings honest.
  maxWorkers: 1,
  testTimeout: 300_000,
};
