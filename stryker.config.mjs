// Mutation testing of the money, control and safety paths (`npm run mutation`; not part of `npm test`).
// Stryker changes one thing at a time in these files and runs the Jest tests that cover it; a mutant that
// no test notices is a behaviour no test pins. `npm run mutation -- --mutate core/pricing.ts` runs one file.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  jest: { configFile: 'jest.config.ts', enableFindRelatedTests: true },
  coverageAnalysis: 'perTest',
  mutate: [
    'core/store/budget-ledger.ts',
    'core/store/ledger-run.ts',
    'core/store/concurrency-slots.ts',
    'core/runs/admission.ts',
    'core/runs/finalize.ts',
    'core/runs/termination.ts',
    'core/pricing.ts',
    'runner/tools/workspace-paths.ts',
    'runner/tools/protected-paths.ts',
  ],
  // Type errors a mutant introduces are not test gaps: the compiler would catch them.
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
