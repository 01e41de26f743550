import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { HANDLER_ENTRY_METADATA, lambdaEsbuildOptions } from '../../infra/constructs/lambda-defaults';
import { synthesize } from './synth';
import { stackFixture, testConfig } from '../support/test-config';

/**
 * Bundle size budget (issue 14): each handler, built exactly as NodejsFunction builds it, is at most
 * 200 KB minified. Sizes are deterministic for a lockfile, so this is a budget, not a timing. The
 * handlers below are over it today; their ceilings stop them growing, and docs/cost.md says what it
 * would take to bring them under. The read-only API routes build only the stores they read
 * (lambdas/api/deps.ts readApiDepsFromEnv) and are under it.
 */
const BUDGET_BYTES = 200_000;
/** Every function that reserves, settles or extends a budget carries the ledger (day and run items, about 15 KiB) on top of zod classic (96 KiB). */
const LEDGER = 'the budget ledger it reserves or settles through (about 15 KiB) on top of zod classic (96 KiB)';
const OVER_BUDGET: Record<string, { bytes: number; why: string }> = {
  'lambdas/api/submit-run.ts': { bytes: 276_000, why: `Powertools Idempotency and its JMESPath engine (38 KiB), the branch facts client and ${LEDGER}, the run queue of the store (core/store/run-queue.ts), the review places (core/store/review-places.ts)` },
  'lambdas/github/webhook.ts': { bytes: 320_000, why: `the whole intake (submit, threads), the inbox answers from GitHub, Octokit core and ${LEDGER}, the run queue of the store (core/store/run-queue.ts), the CI auto-fix intake and its CI log reads (core/github/ci-*.ts, lambdas/github/github-ci-client.ts), the review places (core/store/review-places.ts), the queued comments' edits (core/github/queue-comments.ts)` },
  'lambdas/api/cancel-run.ts': { bytes: 225_000, why: `finalizing a queued run: ${LEDGER}, the run queue of the store (core/store/run-queue.ts), the review places (core/store/review-places.ts)` },
  'lambdas/api/resolve-inbox-item.ts': { bytes: 228_000, why: `an approved budget_approval extends the budget: ${LEDGER}, the run queue of the store (core/store/run-queue.ts), the review places (core/store/review-places.ts); the SNS client that announces item_resolved to the GitHub status comments` },
  'lambdas/schedule/submit.ts': { bytes: 223_000, why: `a scheduled submission reserves: ${LEDGER}, the run queue of the store (core/store/run-queue.ts), the review places (core/store/review-places.ts)` },
  'lambdas/orchestrator/admit.ts': { bytes: 218_000, why: `admission ends a run it refuses: ${LEDGER}, the run queue and its wake-up (core/store/run-queue.ts, core/runs/queue-wake.ts), the review places (core/store/review-places.ts)` },
  'lambdas/orchestrator/backstop.ts': { bytes: 221_000, why: `the backstop settles what an execution left: ${LEDGER}, the run queue and its wake-up (core/store/run-queue.ts, core/runs/queue-wake.ts), the review places (core/store/review-places.ts)` },
  'lambdas/orchestrator/finalize.ts': { bytes: 225_000, why: `Finalize settles the run: ${LEDGER}, the run queue and its wake-up (core/store/run-queue.ts, core/runs/queue-wake.ts), the review places (core/store/review-places.ts)` },
  'lambdas/orchestrator/automatic-resume.ts': { bytes: 216_000, why: `a resume that cannot be kept ends its run: ${LEDGER}, the run queue and its wake-up (core/store/run-queue.ts, core/runs/queue-wake.ts), the review places (core/store/review-places.ts)` },
  'lambdas/orchestrator/pause.ts': { bytes: 215_000, why: `a pause that cannot be kept ends its run: ${LEDGER}, the run queue and its wake-up (core/store/run-queue.ts, core/runs/queue-wake.ts), the review places (core/store/review-places.ts)` },
  'lambdas/token-broker.ts': { bytes: 212_000, why: `the runner's model calls reserve and settle through it: ${LEDGER}, the run queue of the store (core/store/run-queue.ts), the review places (core/store/review-places.ts)` },
};

describe('Lambda handler bundles', () => {
  const config = testConfig(stackFixture);
  const { json } = synthesize({ config, prebuiltRunnerImage: true });
  const resources = Object.values(json.Resources as Record<string, { Metadata?: Record<string, unknown> }>);
  const entries = [...new Set(resources.map((r) => r.Metadata?.[HANDLER_ENTRY_METADATA]).filter((e): e is string => typeof e === 'string'))].sort();
  const out = mkdtempSync(join(tmpdir(), 'nightshift-bundles-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('the stack deploys the handlers this budget names', () => {
    expect(entries.length).toBeGreaterThanOrEqual(12);
    for (const entry of Object.keys(OVER_BUDGET)) expect(entries).toContain(entry);
  });

  test.each(entries)('%s stays within its size budget and carries none of zod\'s locales but English', async (entry) => {
    const outfile = join(out, `${entry.replace(/[/.]/g, '_')}.js`);
    const result = await build({ ...lambdaEsbuildOptions(entry, config, outfile), metafile: true });
    const bytes = statSync(outfile).size;
    expect(bytes).toBeLessThanOrEqual(OVER_BUDGET[entry]?.bytes ?? BUDGET_BYTES);
    // What reached the bundle (the metafile's top-level inputs also list modules tree-shaking dropped).
    const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
    const bundled = Object.entries(output?.inputs ?? {}).filter(([, i]) => i.bytesInOutput > 0).map(([input]) => input);
    expect(bundled.length).toBeGreaterThan(0);
    const locales = bundled.filter((input) => /node_modules\/zod\/.*locales\/(?!en\.|index\.)/.test(input));
    expect(locales).toEqual([]);
    // The Lambda runtime provides the AWS SDK; a bundled copy would be dead weight and a second version.
    expect(bundled.filter((input) => input.includes('node_modules/@aws-sdk/'))).toEqual([]);
  });
});
