// Jest runs on the Node 24 that `npm install` puts in node_modules/.bin (see README).
// TypeScript and the ESM-only dependencies (middy, p-limit, ...) are compiled to CommonJS by SWC.
const esmOnly = ['@middy', 'p-limit', 'yocto-queue'];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/compat runs against real servers: `npm run test:compat` (jest.compat.config.js).
  testPathIgnorePatterns: ['/node_modules/', '/test/compat/'],
  transform: {
    '^.+\\.(t|j|mj)s$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023', keepClassNames: true },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  // middy publishes only an "import" export condition, which Jest's CommonJS resolver does not try.
  moduleNameMapper: { '^@middy/(core|util)$': '<rootDir>/node_modules/@middy/$1/index.js' },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  testTimeout: 60_000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
