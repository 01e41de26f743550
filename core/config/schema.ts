import * as z from 'zod';
import { oddUnicodeReason } from '../runs/text';

/** `owner/name` as GitHub spells it: letters, digits, `-`, `_`, `.`; no `..`, no leading dot. */
export const repoNamePattern = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.)(?!.*\.\.)[A-Za-z0-9._-]{1,100}$/;
export const RepoName = z.string().regex(repoNamePattern, 'must be "owner/name" as GitHub spells it');
export type RepoName = z.infer<typeof RepoName>;

/** A DNS name or a leading-dot suffix (".npmjs.org" allows every subdomain), lower case, no scheme, no port. */
export const EgressDomain = z
  .string()
  .regex(
    /^\.?(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/,
    'must be a lower-case domain name, optionally with a leading "." for subdomains',
  );

const Usd = z.number().positive().max(10_000);
const Minutes = z
  .number()
  .int()
  .positive()
  .max(24 * 60);
const SecretName = z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name');
const ShellCommand = z.string().min(1).max(2_000);

/**
 * A principal named in `auth.admins` or `repos[].requesters`, in the spelling the API's authorizer
 * establishes (core/runs/access.ts matches them):
 *   arn:<partition>:iam::<account>:user/<path/>name   an IAM user (exactly, path included)
 *   arn:<partition>:iam::<account>:role/<path/>name   an IAM role: every session of it
 *   arn:<partition>:sts::<account>:assumed-role/name  the same role, as requester ids spell it
 *   arn:<partition>:iam::<account>:root               the account's root user
 *   group:<name>                                      a JWT group (auth.type jwt)
 *   jwt:<sub>                                         a JWT subject (auth.type jwt)
 *   local:<user>                                      a local mode OS user
 * Session ARNs are refused: the session name is chosen by whoever assumes the role, so naming one
 * would admit every principal that may assume the role under that name.
 */
const iamPrincipalArn = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:(?:root|(?:user|role)\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64})$/;
const roleRequesterArn = /^arn:aws(?:-[a-z]+)*:sts::\d{12}:assumed-role\/[\w+=,.@-]{1,64}$/;
const sessionArn = /^arn:aws(?:-[a-z]+)*:sts::\d{12}:(?:assumed-role\/[\w+=,.@-]+\/.+|federated-user\/.+)$/;
export const PrincipalEntry = z
  .string()
  .min(1)
  .max(512)
  .superRefine((entry, ctx) => {
    if (sessionArn.test(entry)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must not name a session (its name is chosen by the caller): name the role (arn:…:iam::<account>:role/<name>) instead',
      });
    } else if (
      !(
        iamPrincipalArn.test(entry) ||
        roleRequesterArn.test(entry) ||
        (/^(group|jwt|local):\S{1,256}$/.test(entry) && oddUnicodeReason(entry) === undefined)
      )
    ) {
      ctx.addIssue({ code: 'custom', message: 'must be an IAM user or role ARN, "group:<JWT group>", "jwt:<subject>" or "local:<user>"' });
    }
  });
export type PrincipalEntry = z.infer<typeof PrincipalEntry>;
const Principals = z.array(PrincipalEntry).max(100);

export const RepoConfig = z
  .object({
    name: RepoName,
    setup: z.array(ShellCommand).max(20).optional(),
    test: ShellCommand.optional(),
    budgetUsd: Usd.optional(),
    maxMinutes: Minutes.optional(),
    egressAllow: z.array(EgressDomain).max(100).optional(),
    /** Named secrets (env var name -> Secrets Manager secret name) offered to this repo's setup and tests. */
    secrets: z
      .record(z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be an UPPER_SNAKE environment variable name'), SecretName)
      .optional(),
    /** Also offer `secrets` to the test run at the end, which runs code the agent wrote (default false: setup and base tests only). */
    secretsInHeadTests: z.boolean().optional(),
    /** Cache what the setup commands install, keyed by the lockfiles, the commands and the image (default true; docs/runner.md). */
    setupCache: z.boolean().optional(),
    /** Run this repo's tasks on Fargate Spot (cheaper, may be interrupted). */
    spot: z.boolean().optional(),
    /** Who alone may submit runs to this repo through the API (absent: every caller). */
    requesters: Principals.min(1).optional(),
  })
  .strict();
export type RepoConfig = z.infer<typeof RepoConfig>;

export const BudgetsConfig = z
  .object({
    perRunUsd: Usd.default(2),
    maxPerRunUsd: Usd.default(10),
    perRequesterDailyUsd: Usd.default(20),
    dailyUsd: Usd.default(100),
    /** All runs of one GitHub issue or pull request together (a thread, docs/github-app.md). */
    perThreadUsd: Usd.default(10),
    /** A run whose budget runs out asks its requester for more in the inbox (budget_approval) instead of ending BUDGET_EXCEEDED. */
    askForMore: z.boolean().default(false),
    /** The default budget of a review run (`kind: review`): reading a diff costs less than changing code. */
    reviewUsd: Usd.default(1),
  })
  .strict()
  .refine((b) => b.reviewUsd <= b.maxPerRunUsd, { message: 'reviewUsd must not exceed maxPerRunUsd', path: ['reviewUsd'] })
  .refine((b) => b.perRunUsd <= b.maxPerRunUsd, { message: 'perRunUsd must not exceed maxPerRunUsd', path: ['perRunUsd'] })
  .refine((b) => b.maxPerRunUsd <= b.perRequesterDailyUsd, {
    message: 'maxPerRunUsd must not exceed perRequesterDailyUsd',
    path: ['maxPerRunUsd'],
  })
  .refine((b) => b.perRequesterDailyUsd <= b.dailyUsd, {
    message: 'perRequesterDailyUsd must not exceed dailyUsd',
    path: ['perRequesterDailyUsd'],
  })
  .refine((b) => b.perRunUsd <= b.perThreadUsd, {
    message: 'perRunUsd must not exceed perThreadUsd (no GitHub-triggered run could start)',
    path: ['perRunUsd'],
  });
export type BudgetsConfig = z.infer<typeof BudgetsConfig>;

export const ConcurrencyConfig = z
  .object({
    global: z.number().int().min(1).max(500).default(5),
    perRepo: z.number().int().min(1).max(500).default(2),
    /**
     * The review backlog: while a requester has this many `pr_ready` inbox items open (pull requests
     * awaiting review, neither merged, closed nor dismissed) or active runs that may open one, their
     * new runs wait QUEUED (core/runs/review-backlog.ts). Unset: no limit.
     */
    maxOpenPrsPerRequester: z.number().int().min(1).max(1_000).optional(),
    /** Parallel agents per person: at most this many of one requester's runs hold a slot at once. Unset: no per-requester cap. */
    perRequester: z.number().int().min(1).max(500).optional(),
  })
  .strict()
  .refine((c) => c.perRepo <= c.global, { message: 'perRepo must not exceed global', path: ['perRepo'] })
  .refine((c) => c.perRequester === undefined || c.perRequester <= c.global, {
    message: 'perRequester must not exceed global',
    path: ['perRequester'],
  });
export type ConcurrencyConfig = z.infer<typeof ConcurrencyConfig>;

export const TimeoutsConfig = z
  .object({
    /** Default and cap of a run's wall-clock time. */
    maxMinutes: Minutes.default(60),
    /** A run with no heartbeat (model turn or finished tool call) for this long is stopped. */
    noProgressMinutes: Minutes.default(10),
    /** How long a paused run waits for a human (WAITING_FOR_HUMAN) before it ends TIMED_OUT, code no_answer. */
    answerHours: z
      .number()
      .int()
      .min(1)
      .max(30 * 24)
      .default(72),
  })
  .strict()
  .refine((t) => t.noProgressMinutes <= t.maxMinutes, {
    message: 'noProgressMinutes must not exceed maxMinutes',
    path: ['noProgressMinutes'],
  });
export type TimeoutsConfig = z.infer<typeof TimeoutsConfig>;

export const defaultEgressAllow = [
  'github.com',
  '.github.com',
  '.githubusercontent.com',
  'registry.npmjs.org',
  'registry.yarnpkg.com',
  'pypi.org',
  'files.pythonhosted.org',
  'proxy.golang.org',
  'sum.golang.org',
  'index.crates.io',
  'static.crates.io',
  'rubygems.org',
  'repo.maven.apache.org',
] as const;

export const EgressConfig = z
  .object({
    allow: z
      .array(EgressDomain)
      .max(500)
      .default([...defaultEgressAllow]),
  })
  .strict();
export type EgressConfig = z.infer<typeof EgressConfig>;

const PricePerMillion = z.number().nonnegative().max(1_000);

/** Model providers (docs/providers.md). */
export const ModelProviderName = z.enum(['bedrock', 'anthropic', 'openai']);
export type ModelProviderName = z.infer<typeof ModelProviderName>;

/** Default API roots; an OpenAI-compatible server other than OpenAI's names its own `baseUrl`. */
export const defaultModelBaseUrls = { anthropic: 'https://api.anthropic.com', openai: 'https://api.openai.com/v1' } as const;

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The API root of a provider: http or https, no credentials, query or fragment (the key is a secret, never part of the URL). */
const ModelBaseUrl = z
  .string()
  .max(500)
  .url()
  .superRefine((value, ctx) => {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') ctx.addIssue({ code: 'custom', message: 'must be an http or https URL' });
    if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not hold credentials: put the key in apiKeySecret' });
    if (url.search || url.hash) ctx.addIssue({ code: 'custom', message: 'must not have a query or fragment' });
  });

/** The runner image targets of runner/Dockerfile. */
export const RunnerImage = z.enum(['full', 'slim']);
export type RunnerImage = z.infer<typeof RunnerImage>;

export const ModelConfig = z
  .object({
    /** Who serves the model: Bedrock Converse (default), the Anthropic Messages API, or an OpenAI-compatible chat completions server. */
    provider: ModelProviderName.default('bedrock'),
    /**
     * The model the provider serves. For Bedrock a model id or system inference-profile id (geography
     * prefix), not an ARN: the runner's IAM policy is derived from the id (infra/constructs/agent-runtime.ts),
     * and an application inference profile ARN would need its underlying models resolved at deploy.
     * For the others the id the API takes (`claude-sonnet-4-5`, `gpt-4.1`, `qwen2.5-coder:32b`, `hosted_vllm/org/model`).
     */
    id: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9.:_/@+-]+$/, 'must be a model id (letters, digits and . : _ / @ + -)'),
    /** anthropic and openai: the API root (default https://api.anthropic.com, https://api.openai.com/v1). */
    baseUrl: ModelBaseUrl.optional(),
    /**
     * anthropic and openai: Secrets Manager name of the API key (the token broker hands it to a RUNNING
     * run; locally a key of secrets.json, or ANTHROPIC_API_KEY / OPENAI_API_KEY). Required for
     * anthropic; an OpenAI-compatible server without keys (Ollama, vLLM) omits it.
     */
    apiKeySecret: SecretName.optional(),
    /** openai: which field carries the output limit (OpenAI's reasoning models take only max_completion_tokens). */
    maxTokensParameter: z.enum(['max_tokens', 'max_completion_tokens']).optional(),
    /** anthropic and openai: one HTTP attempt's time limit (a slow local model may need more than the default 600). */
    requestTimeoutSeconds: z.number().int().min(10).max(3_600).optional(),
    maxOutputTokens: z.number().int().min(256).max(128_000).default(16_384),
    /** Input tokens the model accepts; the runner trims old tool output to stay inside it. */
    contextWindowTokens: z.number().int().min(8_000).max(2_000_000).default(200_000),
    /** USD per million tokens. */
    prices: z
      .object({
        input: PricePerMillion,
        output: PricePerMillion,
        cacheRead: PricePerMillion,
        cacheWrite: PricePerMillion,
      })
      .strict(),
    /** Fargate prices used to charge compute time to a run's budget. */
    fargate: z
      .object({
        vcpuHourUsd: z.number().nonnegative().max(10),
        gbHourUsd: z.number().nonnegative().max(10),
        vcpu: z.number().positive().max(16).default(1),
        memoryGb: z.number().positive().max(120).default(4),
        /**
         * The runner image (runner/Dockerfile's targets, docs/runner.md#images): `full` adds make and g++
         * for dependencies that compile native code at install; `slim` leaves them out (smaller, faster to pull).
         */
        image: RunnerImage.default('full'),
      })
      .strict(),
    /** Most model turns a run may take before it stops. */
    maxTurns: z.number().int().min(1).max(1_000).default(100),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.provider === 'bedrock') {
      if (!/^[A-Za-z0-9.:_-]+$/.test(m.id))
        ctx.addIssue({ code: 'custom', path: ['id'], message: 'must be a Bedrock model or inference-profile id' });
      if (m.id.startsWith('arn:'))
        ctx.addIssue({ code: 'custom', path: ['id'], message: 'must be a model or inference-profile id, not an ARN' });
      for (const key of ['baseUrl', 'apiKeySecret', 'maxTokensParameter', 'requestTimeoutSeconds'] as const) {
        if (m[key] !== undefined)
          ctx.addIssue({ code: 'custom', path: [key], message: 'applies to the anthropic and openai providers only' });
      }
      return;
    }
    if (m.provider === 'anthropic') {
      if (m.apiKeySecret === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['apiKeySecret'],
          message: 'required for the anthropic provider: the secret name of the API key',
        });
      if (m.maxTokensParameter !== undefined)
        ctx.addIssue({ code: 'custom', path: ['maxTokensParameter'], message: 'applies to the openai provider only' });
    }
    const base = m.baseUrl ?? defaultModelBaseUrls[m.provider];
    const url = URL.canParse(base) ? new URL(base) : undefined;
    if (url && url.protocol === 'http:' && m.apiKeySecret !== undefined && !loopbackHosts.has(url.hostname)) {
      ctx.addIssue({
        code: 'custom',
        path: ['baseUrl'],
        message:
          'must be https when an apiKeySecret is set (the key would cross the network in clear text); http is for loopback or key-less servers',
      });
    }
  });
export type ModelConfig = z.infer<typeof ModelConfig>;

/** CI auto-fix on Nightshift pull requests (docs/github-app.md#ci-auto-fix): on by default, `/nightshift autofix off|on` per PR. */
export const AutofixConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** Fix runs started for CI failures: at most this many per head commit and per pull request. */
    maxAttempts: z
      .object({
        perCommit: z.number().int().min(1).max(10).default(2),
        perPullRequest: z.number().int().min(1).max(50).default(3),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type AutofixConfig = z.infer<typeof AutofixConfig>;

export const GithubConfig = z
  .object({
    appId: z.number().int().positive().optional(),
    installationId: z.number().int().positive().optional(),
    /** Secrets Manager name of the GitHub App private key (PEM). */
    privateKeySecret: SecretName.optional(),
    /** Secrets Manager name of the webhook secret. */
    webhookSecret: SecretName.optional(),
    /** Fallback: Secrets Manager name of a fine-grained personal access token (weaker: not per-run scoped). */
    tokenSecret: SecretName.optional(),
    triggerLabel: z.string().min(1).max(50).default('nightshift'),
    commentCommand: z
      .string()
      .regex(/^\/[a-z0-9-]{1,30}$/, 'must look like "/nightshift"')
      .default('/nightshift'),
    /** The label that, added to a pull request, starts a review run of it (`kind: review`). */
    reviewLabel: z.string().min(1).max(50).default('nightshift-review'),
    /** GitHub API base URL (GitHub Enterprise Server, or the local forge). */
    apiUrl: z.string().url().default('https://api.github.com'),
    autofix: AutofixConfig.prefault({}),
  })
  .strict()
  .superRefine((g, ctx) => {
    const app = g.appId !== undefined || g.installationId !== undefined || g.privateKeySecret !== undefined;
    if (app && (g.appId === undefined || g.installationId === undefined || g.privateKeySecret === undefined)) {
      for (const key of ['appId', 'installationId', 'privateKeySecret'] as const) {
        if (g[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'required when a GitHub App is configured' });
      }
    }
    if (!app && g.tokenSecret === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['tokenSecret'],
        message: 'set a GitHub App (appId, installationId, privateKeySecret) or a tokenSecret',
      });
    }
  });
export type GithubConfig = z.infer<typeof GithubConfig>;

export const ScheduleConfig = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'must be lower-case letters, digits and "-" (max 48)'),
    /** EventBridge Scheduler cron body, six fields: "minutes hours day-of-month month day-of-week year". */
    cron: z.string().regex(/^\S+( \S+){5}$/, 'must be an EventBridge cron expression with six fields'),
    timezone: z.string().min(1).max(50).default('UTC'),
    repo: RepoName,
    prompt: z.string().min(1).max(20_000),
    budgetUsd: Usd.optional(),
    paused: z.boolean().default(false),
  })
  .strict();
export type ScheduleConfig = z.infer<typeof ScheduleConfig>;

export const AlarmsConfig = z
  .object({
    emails: z.array(z.string().email()).max(20).default([]),
    /** Spend rate (USD per hour) that trips the circuit breaker. */
    spendPerHourUsd: Usd.optional(),
    failedRunRatio: z.number().min(0).max(1).default(0.5),
    stuckStartingMinutes: Minutes.default(15),
  })
  .strict();
export type AlarmsConfig = z.infer<typeof AlarmsConfig>;

/** Who is told about new inbox items (docs/inbox.md#notifications): the inbox topic's e-mail subscriptions. */
export const NotificationsConfig = z
  .object({
    emails: z.array(z.string().email()).max(20).default([]),
  })
  .strict();
export type NotificationsConfig = z.infer<typeof NotificationsConfig>;

export const AuthConfig = z.discriminatedUnion('type', [
  z.object({ type: z.literal('iam'), admins: Principals.default([]) }).strict(),
  z
    .object({
      type: z.literal('jwt'),
      issuer: z.string().url(),
      audience: z.array(z.string().min(1)).min(1),
      admins: Principals.default([]),
      /** The claim that lists a caller's groups (Cognito: "cognito:groups"). */
      groupsClaim: z
        .string()
        .regex(/^[A-Za-z0-9:._/-]{1,128}$/, 'must be a JWT claim name')
        .default('groups'),
    })
    .strict(),
]);
export type AuthConfig = z.infer<typeof AuthConfig>;

export const NetworkConfig = z
  .object({
    maxAzs: z.number().int().min(1).max(3).default(1),
    /**
     * The egress proxy's service: `always-on` keeps one task running; `on-demand` starts it when
     * admission needs it and stops it after `proxyIdleMinutes` without a run (docs/network.md#on-demand-proxy).
     */
    proxy: z.enum(['always-on', 'on-demand']).default('always-on'),
    proxyIdleMinutes: z.number().int().min(1).max(1440).default(15),
  })
  .strict();
export type NetworkConfig = z.infer<typeof NetworkConfig>;

/**
 * The whole configuration. Each default is written once, on its field; an omitted section is parsed
 * from `{}` (`.prefault`), so it gets the same field defaults as a section given in part.
 */
export const NightshiftConfig = z
  .object({
    $schema: z.string().optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1')
      .optional(),
    repos: z.array(RepoConfig).min(1),
    budgets: BudgetsConfig.prefault({}),
    concurrency: ConcurrencyConfig.prefault({}),
    timeouts: TimeoutsConfig.prefault({}),
    egress: EgressConfig.prefault({}),
    model: ModelConfig,
    github: GithubConfig,
    schedules: z.array(ScheduleConfig).max(100).default([]),
    alarms: AlarmsConfig.prefault({}),
    notifications: NotificationsConfig.prefault({}),
    auth: AuthConfig.prefault({ type: 'iam' }),
    network: NetworkConfig.prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    // The first run after an idle period waits for an on-demand proxy up to 3 minutes without a heartbeat (docs/network.md#on-demand-proxy).
    if (c.network.proxy === 'on-demand' && c.timeouts.noProgressMinutes < 5)
      ctx.addIssue({
        code: 'custom',
        path: ['timeouts', 'noProgressMinutes'],
        message:
          'must be at least 5 with network.proxy "on-demand": a runner may wait up to 3 minutes for the proxy to start, with no heartbeat meanwhile',
      });
    const seen = new Set<string>();
    c.repos.forEach((r, i) => {
      const key = r.name.toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['repos', i, 'name'], message: `duplicate repo ${r.name}` });
      seen.add(key);
      if (r.budgetUsd !== undefined && r.budgetUsd > c.budgets.maxPerRunUsd) {
        ctx.addIssue({ code: 'custom', path: ['repos', i, 'budgetUsd'], message: 'must not exceed budgets.maxPerRunUsd' });
      }
      if (r.maxMinutes !== undefined && r.maxMinutes > c.timeouts.maxMinutes) {
        ctx.addIssue({ code: 'custom', path: ['repos', i, 'maxMinutes'], message: 'must not exceed timeouts.maxMinutes' });
      }
    });
    // A principal the configured authorizer can never present would silently grant nothing.
    const principalLists: [PropertyKey[], readonly string[]][] = [
      [['auth', 'admins'], c.auth.admins],
      ...c.repos.map((r, i): [PropertyKey[], readonly string[]] => [['repos', i, 'requesters'], r.requesters ?? []]),
    ];
    for (const [path, entries] of principalLists) {
      entries.forEach((entry, j) => {
        const jwtOnly = entry.startsWith('group:') || entry.startsWith('jwt:');
        if (c.auth.type === 'iam' && jwtOnly)
          ctx.addIssue({ code: 'custom', path: [...path, j], message: 'JWT groups and subjects need auth.type "jwt"' });
        if (c.auth.type === 'jwt' && entry.startsWith('arn:'))
          ctx.addIssue({
            code: 'custom',
            path: [...path, j],
            message: 'IAM ARNs need auth.type "iam" (the JWT authorizer presents no ARN)',
          });
      });
    }
    const names = new Set<string>();
    c.schedules.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['schedules', i, 'name'], message: `duplicate schedule ${s.name}` });
      names.add(s.name);
      if (!seen.has(s.repo.toLowerCase()))
        ctx.addIssue({ code: 'custom', path: ['schedules', i, 'repo'], message: `${s.repo} is not in repos` });
      if (s.budgetUsd !== undefined && s.budgetUsd > c.budgets.maxPerRunUsd) {
        ctx.addIssue({ code: 'custom', path: ['schedules', i, 'budgetUsd'], message: 'must not exceed budgets.maxPerRunUsd' });
      }
    });
  });
export type NightshiftConfig = z.infer<typeof NightshiftConfig>;
