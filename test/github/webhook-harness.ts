import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { sign } from '@octokit/webhooks-methods';
import { randomUUID } from 'node:crypto';
import { parseConfig } from '../../core/config/load';
import type { NightshiftConfig } from '../../core/config/schema';
import type { GithubComment, GithubRepoPort, PullDetails, ReactionTarget, RepoPermission } from '../../core/github/github-port';
import type { CheckRunOutput } from '../../core/github/run-status';
import { PermissionCache } from '../../core/github/webhook-intake';
import { receiveWebhook, type WebhookAnswer, type WebhookReceiverDeps } from '../../core/github/webhook-receiver';
import { WebhookSecret } from '../../core/github/webhook-signature';
import type { MetricRecord } from '../../core/metrics/catalog';
import type { ExecutionInput } from '../../core/runs/execution';
import { cancelRun } from '../../core/runs/cancel';
import { resolveInboxItem, type AnswerDeps } from '../../core/runs/answer';
import { submitRun, type SubmitDeps } from '../../core/runs/submit';
import { createThreadStore } from '../../adapters/dynamodb/threads';
import { createWebhookDeliveries } from '../../adapters/dynamodb/webhook-deliveries';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { exampleOf } from '../support/webhook-examples';

export const SECRET = 'test-webhook-secret-0123456789';
export const REPO = 'acme/web';

export function webhookConfig(overrides: Record<string, unknown> = {}): NightshiftConfig {
  return parseConfig({
    repos: [{ name: REPO, budgetUsd: 1 }],
    budgets: { perRunUsd: 1, maxPerRunUsd: 2, perRequesterDailyUsd: 20, dailyUsd: 50, perThreadUsd: 2.5 },
    model: {
      id: 'test-model',
      prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
      fargate: { vcpuHourUsd: 0.04, gbHourUsd: 0.004 },
    },
    github: { tokenSecret: 'nightshift/github-token', webhookSecret: 'nightshift/gh-webhook' },
    ...overrides,
  });
}

/**
 * A real payload from @octokit/webhooks-examples, adjusted to the test repository, sender and clock
 * (the examples are from 2019; deliveries older than the dedup window are refused as stale).
 */
export function examplePayload(
  event: string,
  action: string,
  adjust: (p: Record<string, any>) => void = () => undefined,
  index = 0,
): Record<string, any> {
  const p = exampleOf<Record<string, any>>(event, action, index);
  const now = new Date().toISOString();
  p.repository.full_name = REPO;
  p.repository.name = 'web';
  p.repository.owner.login = 'acme';
  for (const key of ['issue', 'pull_request']) if (p[key]) p[key].updated_at = now;
  if (p.comment) p.comment.created_at = now;
  if (p.review) p.review.submitted_at = now;
  if (p.pull_request) {
    p.pull_request.head.repo.full_name = REPO;
    p.pull_request.base.repo.full_name = REPO;
  }
  adjust(p);
  return p;
}

/** An in-memory GitHub repository: what the webhook handler asks and what it wrote. */
export class FakeRepo implements GithubRepoPort {
  permissions = new Map<string, RepoPermission>([['Codertocat', 'admin']]);
  issues = new Map<number, { title: string; body: string | null; user: { login: string; type: string } }>([
    [
      1,
      {
        title: 'Spelling error in the README file',
        body: 'It looks like you accidently spelled commit with two t.',
        user: { login: 'Codertocat', type: 'User' },
      },
    ],
  ]);
  comments = new Map<number, GithubComment[]>();
  inline = new Map<number, GithubComment[]>();
  pulls = new Map<number, PullDetails>([
    [
      2,
      {
        number: 2,
        state: 'open',
        headRef: 'changes',
        headRepo: REPO,
        baseRepo: REPO,
        htmlUrl: 'https://github.com/acme/web/pull/2',
        headSha: 'c0ffee0000000000000000000000000000000002',
      },
    ],
  ]);
  written: { number: number; body: string; id: number }[] = [];
  edits: { id: number; body: string }[] = [];
  checkRuns: { headSha: string; externalId: string; output: CheckRunOutput }[] = [];
  canWriteChecks = true;
  reactions: ReactionTarget[] = [];
  permissionCalls = 0;

  async permissionOf(login: string) {
    this.permissionCalls++;
    return this.permissions.get(login) ?? 'none';
  }
  async issue(number: number) {
    const issue = this.issues.get(number);
    if (!issue) throw Object.assign(new Error('Not Found'), { status: 404 });
    return { ...issue, isPullRequest: this.pulls.has(number) };
  }
  async issueComments(number: number) {
    return this.comments.get(number) ?? [];
  }
  async pull(number: number) {
    const pull = this.pulls.get(number);
    if (!pull) throw Object.assign(new Error('Not Found'), { status: 404 });
    return pull;
  }
  async reviewComments(number: number) {
    return this.inline.get(number) ?? [];
  }
  async reviews() {
    return [];
  }
  async comment(number: number, body: string) {
    const id = 1_000 + this.written.length;
    this.written.push({ number, body, id });
    return { id };
  }
  async editComment(id: number, body: string) {
    this.edits.push({ id, body });
  }
  async upsertCheckRun(input: { headSha: string; externalId: string; output: CheckRunOutput }) {
    const at = this.checkRuns.findIndex((c) => c.externalId === input.externalId && c.headSha === input.headSha);
    if (at >= 0) this.checkRuns[at] = input;
    else this.checkRuns.push(input);
  }
  reactionContents: string[] = [];
  async react(target: ReactionTarget, content: string) {
    this.reactions.push(target);
    this.reactionContents.push(content);
  }
}

export interface WebhookHarness {
  db: DynaliteHarness;
  /** Task tokens completed by inbox resolutions: [token, output] for a success, [token, error] for a failure. */
  taskSuccesses: [string, string][];
  taskFailures: [string, string][];
  deps: WebhookReceiverDeps;
  repo: FakeRepo;
  started: ExecutionInput[];
  stopped: string[];
  metrics: MetricRecord[];
  deliver(
    event: string,
    payload: unknown,
    options?: { delivery?: string; signature?: string | null; secret?: string },
  ): Promise<WebhookAnswer>;
  itemCount(table: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startWebhookHarness(config: NightshiftConfig = webhookConfig()): Promise<WebhookHarness> {
  const db = await startDynalite();
  const repo = new FakeRepo();
  const started: ExecutionInput[] = [];
  const stopped: string[] = [];
  const metrics: MetricRecord[] = [];
  const threads = createThreadStore(db.doc, db.names.control);
  const submitDeps: SubmitDeps & { stopExecution(runId: string, cause: string): Promise<void> } = {
    config,
    ...db.store,
    threads,
    startExecution: async (input) => void started.push(input),
    stopExecution: async (runId) => void stopped.push(runId),
    stopRunTasks: async () => undefined,
    // GitHub's answer about a branch, from the fake repository's open pull requests.
    branchFacts: async (_repo, branch) => ({
      defaultBranch: 'main',
      exists: true,
      answeredName: branch,
      isProtected: false,
      isOpenPullRequestHead: [...repo.pulls.values()].some((p) => p.state === 'open' && p.headRef === branch && p.headRepo === REPO),
    }),
    // GitHub's answer about a review's pull request, from the fake repository.
    pullFacts: async (_repo, number) => {
      const pull = repo.pulls.get(number);
      return pull ? { state: pull.state, headRef: pull.headRef, headRepo: pull.headRepo } : undefined;
    },
  };
  const taskSuccesses: [string, string][] = [];
  const taskFailures: [string, string][] = [];
  const answerDeps: AnswerDeps = {
    ...db.store,
    config,
    threads,
    sendTaskSuccess: async (token, output) => void taskSuccesses.push([token, output]),
    sendTaskFailure: async (token, error) => void taskFailures.push([token, error]),
  };
  const deps: WebhookReceiverDeps = {
    config,
    secret: new WebhookSecret({ read: async () => SECRET }),
    deliveries: createWebhookDeliveries(db.doc, db.names.idempotency),
    runs: db.store.runs,
    queue: db.store.queue,
    threads,
    permissions: new PermissionCache(),
    metrics: { emit: (record) => void metrics.push(record as MetricRecord) },
    github: async () => repo,
    submit: (input) => submitRun(submitDeps, input),
    cancel: async (runId, requester) =>
      void (await cancelRun(submitDeps, { runId, requester, access: { caller: { requester, groups: [] }, admin: true } })),
    inbox: db.store.inbox,
    resolveItem: (input) => resolveInboxItem(answerDeps, input),
    warn: () => undefined,
  };
  return {
    db,
    taskSuccesses,
    taskFailures,
    deps,
    repo,
    started,
    stopped,
    metrics,
    async deliver(event, payload, options = {}) {
      const body = Buffer.from(JSON.stringify(payload));
      const signature =
        options.signature === null ? undefined : (options.signature ?? (await sign(options.secret ?? SECRET, body.toString('utf8'))));
      const headers: Record<string, string | undefined> = {
        'x-github-event': event,
        'x-github-delivery': options.delivery ?? randomUUID(),
        'x-hub-signature-256': signature,
      };
      return receiveWebhook(deps, { header: (name) => headers[name.toLowerCase()], body });
    },
    async itemCount(table) {
      const out = await db.client.send(new ScanCommand({ TableName: table }));
      return out.Count ?? 0;
    },
    stop: () => db.stop(),
  };
}
