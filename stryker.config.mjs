/**
 * Mutation testing of one area (scripts/mutation-areas.mjs), chosen by
 * MUTATE_AREA; run them all with `npm run mutate` (scripts/mutate.mjs).
 * Each area keeps its own incremental file, so a rerun tests only the
 * mutants whose code or tests changed.
 */
import { AREAS } from './scripts/mutation-areas.mjs';

const area = process.env.MUTATE_AREA ?? '';
if (!Object.hasOwn(AREAS, area)) {
  throw new Error(
    `MUTATE_AREA must be one of ${Object.keys(AREAS).join(', ')} (got "${area}"); run npm run mutate`,
  );
}

export default {
  testRunner: 'tap',
  tap: { testFiles: AREAS[area].testFiles, nodeArgs: ['--import', 'tsx'], forceBail: true },
  coverageAnalysis: 'perTest',
  mutate: AREAS[area].mutate,
  ignorePatterns: ['dist', '.bench', 'docs/api', 'reports', 'prof', '.scratch', '*.tgz'],
  incremental: true,
  incrementalFile: `reports/mutation/${area}.incremental.json`,
  htmlReporter: { fileName: `reports/mutation/${area}.html` },
  jsonReporter: { fileName: `reports/mutation/${area}.json` },
  reporters: ['progress-append-only', 'html', 'json'],
  concurrency: 2,
  // A mutant that makes a test hang (many do, in the codec's loops) costs the whole limit: keep it short.
  timeoutMS: 3000,
  timeoutFactor: 1.25,
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
