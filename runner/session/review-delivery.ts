import { microsToUsd } from '../../core/pricing';
import { anchorComments, type AnchoredReview } from '../../core/review/review-anchoring';
import { reviewBody } from '../../core/review/review-body';
import { inertMarkdown } from '../../core/text/inert-markdown';
import type { ReviewFinish } from '../agent/review-prompt';
import type { PullRequestDetails } from '../github/github-api';
import type { ModelBudget } from '../model-budget';
import { summarizeTests, type TestRunResult } from '../repo/test-results';
import type { AgentEnd } from './loop-state';
import type { ComputeMeter } from './compute-meter';
import type { RepoAccess } from './repo-access';
import type { RunContext } from './run-context';
import type { RunEnd } from './run-errors';

/** The checkout of the pull request under review: its head, and nothing the runner will ever push. */
export interface ReviewedPull {
  pull: PullRequestDetails;
  /** The commit the review is about (the head the clone got). */
  commit: string;
}

const SUMMARY_LIMIT = 4_000;

export interface ReviewDeliveryInput {
  repo: RepoAccess;
  reviewed: ReviewedPull;
  /** The pull request's diff the comments are anchored on. */
  diff: string;
  /** The agent's `finish`, when it called it. */
  finish: ReviewFinish | undefined;
  headTests: TestRunResult | undefined;
  budget: ModelBudget;
  meter: ComputeMeter;
}

/**
 * A review run's delivery: exactly one GitHub review of type COMMENT on the reviewed commit, with the
 * agent's summary, its comments on changed lines inline and the others in the summary, and the run's
 * cost. Nothing is committed or pushed. Should GitHub still refuse the inline comments (the pull
 * request moved under the review), the one review is posted with every comment in its body.
 */
export async function deliverReview(ctx: RunContext, agentEnd: AgentEnd, input: ReviewDeliveryInput): Promise<RunEnd> {
  const { repo, reviewed } = input;
  if (agentEnd.kind === 'pause') throw new Error('a review run never pauses');
  const summary =
    input.finish?.summary ??
    (agentEnd.kind === 'end_turn'
      ? agentEnd.text || 'The review ended without a summary.'
      : `The review stopped at the turn limit (${ctx.config.model.maxTurns} model turns) before the agent finished.`);
  const review = anchorComments(input.diff, input.finish?.comments ?? []);
  // The cost the review states is the cost it ends with: compute is charged before the body is written.
  await input.meter.chargeFinal();
  const totals = input.budget.totals;
  const body = (r: AnchoredReview) =>
    ctx.redactor.redact(
      // Model-written text cannot make GitHub fetch or link anything outside the repository.
      inertMarkdown(
        reviewBody({
          runId: ctx.run.runId,
          summary,
          unanchored: r.unanchored,
          tests: input.headTests ? summarizeTests(input.headTests) : null,
          headSha: reviewed.commit,
          costUsd: microsToUsd(ctx.run.spentMicros + totals.modelMicros + input.meter.chargedMicros),
          tokens: { input: totals.usage.input + totals.usage.cacheRead + totals.usage.cacheWrite, output: totals.usage.output },
        }),
        { allowedUrlPrefixes: repo.webUrl ? [repo.webUrl] : [] },
      ),
    );
  const inline = (r: AnchoredReview) =>
    r.anchored.map((c) => ({
      ...c,
      body: ctx.redactor.redact(inertMarkdown(c.body, { allowedUrlPrefixes: repo.webUrl ? [repo.webUrl] : [] })),
    }));
  await repo.freshToken();
  let posted: { id: number; url: string };
  let kept = review;
  try {
    posted = await repo.github.createCommentReview(reviewed.pull.number, {
      commitId: reviewed.commit,
      body: body(review),
      comments: inline(review),
    });
  } catch (err) {
    if ((err as { status?: number }).status !== 422 || review.anchored.length === 0) throw err;
    kept = {
      anchored: [],
      unanchored: [
        ...review.anchored.map((c) => ({
          comment: { path: c.path, line: c.line, body: c.body },
          reason: 'GitHub did not accept it inline',
        })),
        ...review.unanchored,
      ],
    };
    await ctx.emit(
      'note',
      `GitHub refused the inline comments (422): the review is posted with all ${kept.unanchored.length} comments in its body`,
      {},
    );
    posted = await repo.github.createCommentReview(reviewed.pull.number, { commitId: reviewed.commit, body: body(kept), comments: [] });
  }
  await ctx.patchRun({ prUrl: reviewed.pull.url });
  await ctx.emit(
    'note',
    `posted a COMMENT review on pull request #${reviewed.pull.number}: ${kept.anchored.length} inline comment(s), ${kept.unanchored.length} in the summary`,
    {
      pr: reviewed.pull.number,
      reviewId: posted.id,
      inline: kept.anchored.length,
      inSummary: kept.unanchored.length,
    },
  );
  return {
    kind: 'succeeded',
    result: { outcome: 'reviewed', branch: null, prUrl: reviewed.pull.url, question: null, summary: summary.slice(0, SUMMARY_LIMIT) },
  };
}
