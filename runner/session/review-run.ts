import { chmodSync } from 'node:fs';
import type { ThreadComment } from '../../core/github/thread-prompt';
import { reviewPullRefusal } from '../../core/runs/branch-ownership';
import { readAgentInstructions } from '../repo/repo-settings-file';
import { REVIEW_TOOLS, ReviewFinish, reviewSystemPrompt, reviewTaskMessage, reviewToolSpecs } from '../agent/review-prompt';
import type { ModelBudget } from '../model-budget';
import { ok, refused } from '../tools/tool-context';
import { giveTreeTo } from '../workspace';
import { runAgentLoop, type AgentLoopProfile } from './agent-loop';
import type { ComputeMeter } from './compute-meter';
import { RepoAccess } from './repo-access';
import { deliverReview, type ReviewedPull } from './review-delivery';
import type { RunContext } from './run-context';
import { RunFailure, type RunEnd } from './run-errors';
import { StatusProgress } from './status-progress';
import { runTests } from './test-phase';
import type { PreparedRun, StartedRun } from './prepared-run';
import {
  allowedRepo,
  defaultRepoRules,
  loadCommandEnvironments,
  readRepoRules,
  repoGitHub,
  runSetup,
  workspaceGit,
} from './workspace-phase';

export interface ReviewRunInput {
  budget: ModelBudget;
  meter: ComputeMeter;
}

/**
 * A review run (`kind: review`), composed of the same phases as a change run but not the same ones
 * after the loop: the pull request's head checked out (never a new branch), setup, the tests at head,
 * the agent loop with read-only tools, then one COMMENT review (runner/session/review-delivery.ts)
 * instead of a commit, a push and a PR. Read-only is the runner's doing, not the prompt's: nothing
 * here pushes, the git directory is the runner's, and whatever a command wrote is discarded and the
 * checkout's HEAD checked unchanged before the review is posted.
 */
export async function runReview(ctx: RunContext, started: StartedRun, input: ReviewRunInput): Promise<RunEnd> {
  const { repo, reviewed } = await ctx.timed('clone', () => ctx.withHeartbeats(() => checkoutPullRequest(ctx, started)));
  await ctx.heartbeat();
  const status = new StatusProgress(ctx, repo.github);
  await status.report(0, ctx.run.spentMicros);
  const prepared: PreparedRun = { ...started, repo, rules: defaultRepoRules(), commandEnv: started.toolEnv, headTestEnv: started.toolEnv };
  prepared.rules = await readRepoRules(ctx, started.layout, repo, { reviewedBranch: true });
  // The pull request's code is not the default branch's: secrets reach it only as they reach a change run's head tests.
  const { headTestEnv } = await loadCommandEnvironments(ctx, started.toolEnv);
  Object.assign(prepared, { commandEnv: headTestEnv, headTestEnv });
  const setupNotes = await ctx.timed('setup', () => runSetup(ctx, prepared));
  const headTests = await ctx.timed('headTests', () => runTests(ctx, prepared, 'head'));
  await ctx.heartbeat();
  const diff = await repo.github.getPullDiff(reviewed.pull.number);
  await ctx.emit(
    'note',
    `reviewing pull request #${reviewed.pull.number} at ${reviewed.commit.slice(0, 12)}: its diff against ${reviewed.pull.baseRef} has ${diff.length} characters`,
    { pr: reviewed.pull.number, commit: reviewed.commit },
  );
  const discussion = await readDiscussion(ctx, repo, reviewed.pull.number);

  let finish: ReviewFinish | undefined;
  const profile: AgentLoopProfile = {
    system: reviewSystemPrompt({
      repo: ctx.run.repo,
      pr: reviewed.pull.number,
      headRef: reviewed.pull.headRef,
      baseRef: reviewed.pull.baseRef,
      testCommand: prepared.rules.testCommand,
      agentInstructions: readAgentInstructions(started.layout.repo),
    }),
    tools: reviewToolSpecs(),
    task: reviewTaskMessage({
      prompt: ctx.run.prompt,
      pr: { number: reviewed.pull.number, title: reviewed.pull.title, body: reviewed.pull.body },
      diff,
      discussion,
      headTests,
      setupNotes,
    }),
    tool(name, raw) {
      const at = Date.now();
      if (!(REVIEW_TOOLS as readonly string[]).includes(name))
        return refused(`${name} is not available in a review run: it is read-only (read_file, list_files, search, shell, finish)`, at);
      if (name !== 'finish') return undefined;
      const parsed = ReviewFinish.safeParse(raw);
      if (!parsed.success)
        return refused(`invalid input for finish: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, at);
      finish = parsed.data;
      return ok('the runner now posts the review', at, { control: { kind: 'finish', summary: parsed.data.summary, risks: null } });
    },
  };
  const agentEnd = await runAgentLoop(ctx, {
    prepared,
    budget: input.budget,
    meter: input.meter,
    setupNotes,
    baseTests: undefined,
    status,
    profile,
  });
  await discardWrites(ctx, repo, reviewed.commit);
  return deliverReview(ctx, agentEnd, { repo, reviewed, diff, finish, headTests, budget: input.budget, meter: input.meter });
}

/**
 * The pull request's discussion as the review starts (so a review that queued sees what was said
 * meanwhile), read the same way whether GitHub, the API or the CLI asked for the review. A failed read
 * is said in an event and in the task, and the review goes on without it.
 */
async function readDiscussion(ctx: RunContext, repo: RepoAccess, number: number): Promise<ThreadComment[] | null> {
  try {
    const discussion = await repo.github.pullDiscussion(number, ctx.config.github.commentCommand);
    const trusted = discussion.filter((c) => c.trusted).length;
    await ctx.emit(
      'note',
      `read the discussion of pull request #${number}: ${trusted} comment(s) by people with write access, ${discussion.length - trusted} by others left out`,
      { pr: number, trusted, leftOut: discussion.length - trusted },
    );
    return discussion;
  } catch (err) {
    await ctx.emit(
      'note',
      `the discussion of pull request #${number} could not be read (${ctx.redactor.redact(String(err)).slice(0, 300)}); the review goes on without it`,
      { pr: number },
    );
    return null;
  }
}

/** Clones the pull request's head shallowly, after checking (again, as at submit) that it is open and not from a fork. */
export async function checkoutPullRequest(ctx: RunContext, started: StartedRun): Promise<{ repo: RepoAccess; reviewed: ReviewedPull }> {
  const { run } = ctx;
  const settings = allowedRepo(ctx);
  if (!run.pr) throw new RunFailure('review_without_pr', 'a review run names no pull request');
  const { token, proxyUrl, github } = await repoGitHub(ctx, started, settings.name);
  const [info, pull] = await Promise.all([github.getRepo(), github.getPull(run.pr)]);
  const refusal = reviewPullRefusal(settings.name, run.pr, pull);
  if (refusal) throw new RunFailure('review_not_allowed', refusal);
  const { git, webUrl } = workspaceGit(started, token, proxyUrl, info.cloneUrl);
  const { layout } = started;
  await git.clone(info.cloneUrl, pull.headRef);
  // The git directory is the runner's: tools can neither read nor change it (no commit, no ref moves).
  chmodSync(layout.gitDir, 0o700);
  const commit = await git.head();
  if (commit !== pull.headSha)
    await ctx.emit(
      'note',
      `pull request #${pull.number} moved while the run started: reviewing ${commit.slice(0, 12)}, its head when cloned`,
      { asked: pull.headSha, cloned: commit },
    );
  giveTreeTo(layout.repo, started.identity);
  await ctx.emit(
    'note',
    `cloned ${run.repo} at ${commit.slice(0, 12)}, the head of pull request #${pull.number} (${pull.headRef}); a review pushes nothing`,
    { pr: pull.number, headRef: pull.headRef, commit },
  );
  return {
    repo: new RepoAccess(ctx, git, github, token, pull.headRef, pull.baseRef, commit, proxyUrl, webUrl),
    reviewed: { pull, commit },
  };
}

/** No file write of a review is kept: the checkout goes back to the reviewed commit, which must be HEAD again. */
async function discardWrites(ctx: RunContext, repo: RepoAccess, commit: string): Promise<void> {
  const changed = (await repo.git.run(['status', '--porcelain', '--untracked-files=all'])).split('\n').filter((l) => l.trim() !== '');
  if (changed.length) {
    await repo.git.run(['checkout', '--quiet', '--force', commit, '--', '.']);
    await repo.git.run(['clean', '-fdq']);
    await ctx.emit('note', `a review keeps no file writes: ${changed.length} change(s) in the checkout discarded`, {
      discarded: changed.slice(0, 50).map((l) => l.slice(3)),
    });
  }
  // Where tools share the runner's user (local mode) a command could commit: the checkout goes back, and nothing is pushed either way.
  const head = await repo.git.head();
  if (head !== commit) {
    await repo.git.run(['reset', '--quiet', '--hard', commit]);
    await ctx.emit(
      'note',
      `a review keeps no commits: the checkout's HEAD moved from ${commit.slice(0, 12)} to ${head.slice(0, 12)} and was reset`,
      { moved: head },
    );
  }
  if ((await repo.git.head()) !== commit)
    throw new RunFailure('review_changed_branch', `the checkout's HEAD could not be put back on ${commit.slice(0, 12)}`);
}
