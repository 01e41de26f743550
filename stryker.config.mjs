// Mutation testing of the money, control and safety paths (`npm run mutation`; not part of `npm test`).
// Stryker changes one thing at a time in these files and runs the Jest tests that cover it; a mutant that
// no test notices is a behaviour no test pins. Run one file at a time (CONTRIBUTING.md, Mutation testing):
//   npm run mutation -- --mutate core/pricing.ts
// Each file runs against the test files listed for it below (not the whole suite, and not every test
// that happens to import it: the store is imported by half the suite). MUTATION_TESTS="a.test.ts b.test.ts"
// overrides the list.

/** The test files that pin each mutated file's behaviour. */
const testsFor = {
  'adapters/dynamodb/budget-ledger.ts': [
    'test/store/budget-ledger.test.ts',
    'test/store/ledger-races.test.ts',
    'test/store/budget-ledger-paths.test.ts',
  ],
  'adapters/dynamodb/ledger-day.ts': [
    'test/store/budget-ledger.test.ts',
    'test/store/ledger-races.test.ts',
    'test/store/ledger-day-paths.test.ts',
  ],
  'adapters/dynamodb/ledger-run.ts': [
    'test/store/budget-ledger.test.ts',
    'test/store/ledger-races.test.ts',
    'test/store/ledger-run-paths.test.ts',
  ],
  'adapters/dynamodb/concurrency-slots.ts': ['test/store/concurrency-slots.test.ts', 'test/store/slots-races.test.ts'],
  'core/runs/admission.ts': [
    'test/orchestration/admission.test.ts',
    'test/runs/admission-races.test.ts',
    'test/runs/admission-paths.test.ts',
  ],
  'core/runs/finalize.ts': ['test/api/finalize.test.ts', 'test/runs/finalize-paths.test.ts'],
  'core/runs/termination.ts': ['test/api/termination.test.ts', 'test/runs/termination-paths.test.ts'],
  'core/pricing.ts': ['test/core/pricing.test.ts', 'test/core/pricing-bounds.test.ts'],
  'core/text/glob.ts': ['test/runner/path-guards.test.ts'],
  'runner/tools/workspace-paths.ts': ['test/runner/path-guards.test.ts'],
  'runner/tools/protected-paths.ts': ['test/runner/path-guards.test.ts'],
};

const argv = process.argv;
const at = argv.findIndex((a) => a === '--mutate' || a === '-m');
const mutating = at >= 0 ? argv[at + 1].split(',') : Object.keys(testsFor);
const tests = process.env.MUTATION_TESTS
  ? process.env.MUTATION_TESTS.split(/\s+/).filter(Boolean)
  : [...new Set(mutating.flatMap((f) => testsFor[f] ?? []))];
if (tests.length === 0)
  throw new Error(`no test files listed for ${mutating.join(', ')}: add them to testsFor in stryker.config.mjs or set MUTATION_TESTS`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  jest: {
    configFile: 'jest.config.ts',
    config: { testMatch: tests.map((t) => `<rootDir>/${t}`), maxWorkers: 1 },
    enableFindRelatedTests: false,
  },
  coverageAnalysis: 'perTest',
  mutate: Object.keys(testsFor),
  // Type errors a mutant introduces are not test gaps: the compiler would catch them.
  ignoreStatic: true,
  // The machine is shared: one test process; raise it with --concurrency on a machine of your own.
  concurrency: 1,
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
