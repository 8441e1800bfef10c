// @ts-check
/** @type {[string, Record<string, unknown>]} */
const swc = [
  '@swc/jest',
  { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' }, sourceMaps: 'inline' },
];

const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@ticketing/(config|contracts|db|http|messaging|service-runtime|telemetry|testing)$': '<rootDir>/libs/$1/src/index.ts',
  },
  testPathIgnorePatterns: ['/node_modules/', '/.cache/', '/.stack/'],
};

/**
 * Unit tests run without servers; integration tests get real PostgreSQL, Redis and Kafka from the
 * global setup. @type {import('jest').Config}
 */
module.exports = {
  testTimeout: 60_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,infra,bench}/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs,infra,bench}/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/jest.global-setup.ts',
      globalTeardown: '<rootDir>/jest.global-teardown.ts',
      slowTestThreshold: 20,
    },
  ],
};
