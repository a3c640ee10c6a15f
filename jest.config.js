/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  // The registry and podman suites start real processes; give them room without hiding hangs.
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  // Coverage counts every file of lib/, also those no test loads (else the report overstates it).
  collectCoverageFrom: ['<rootDir>/lib/**/*.ts', '!<rootDir>/lib/**/*.d.ts'],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
