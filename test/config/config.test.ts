import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig, repoSettings } from '../../core/config/load';
import { minimalConfigFile } from '../support/minimal-config';

/** The problems of the smallest valid configuration once `mutate` broke it; each case below breaks one field of it. */
function problemsOf(mutate: (c: Record<string, any>) => void): { path: string; message: string }[] {
  const config = minimalConfigFile();
  mutate(config);
  try {
    parseConfig(config, 'test');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('the configuration was accepted');
}

describe('configuration', () => {
  it('Given the minimal configuration, When it is parsed, Then it is accepted and every default is filled', () => {
    const config = parseConfig(minimalConfigFile());
    expect(config.budgets).toEqual({
      perRunUsd: 2,
      maxPerRunUsd: 10,
      perRequesterDailyUsd: 20,
      dailyUsd: 100,
      perThreadUsd: 10,
      askForMore: false,
      reviewUsd: 1,
    });
    expect(config.concurrency).toEqual({ global: 5, perRepo: 2 });
    expect(config.timeouts).toEqual({ maxMinutes: 60, noProgressMinutes: 10, answerHours: 72 });
    expect(config.github.triggerLabel).toBe('nightshift');
    expect(config.github.commentCommand).toBe('/nightshift');
    expect(config.auth).toEqual({ type: 'iam', admins: [] });
    expect(config.egress.allow).toContain('registry.npmjs.org');
    expect(config.model.maxOutputTokens).toBe(16_384);
  });

  it('Given a section omitted, empty or given in part, When the config is parsed, Then each gets the same field defaults', () => {
    const omitted = parseConfig(minimalConfigFile());
    const empty = parseConfig({
      ...minimalConfigFile(),
      budgets: {},
      concurrency: {},
      timeouts: {},
      egress: {},
      alarms: {},
      auth: { type: 'iam' },
      network: {},
    });
    expect(empty).toEqual(omitted);
    const partial = parseConfig({
      ...minimalConfigFile(),
      budgets: { dailyUsd: 50 },
      timeouts: { maxMinutes: 30 },
      alarms: { emails: ['ops@example.com'] },
    });
    expect(partial.budgets).toEqual({ ...omitted.budgets, dailyUsd: 50 });
    expect(partial.timeouts).toEqual({ ...omitted.timeouts, maxMinutes: 30 });
    expect(partial.alarms).toEqual({ ...omitted.alarms, emails: ['ops@example.com'] });
    expect(omitted.network).toEqual({ maxAzs: 1, proxy: 'always-on', proxyIdleMinutes: 15 });
    expect(omitted.alarms).toEqual({ emails: [], failedRunRatio: 0.5, stuckStartingMinutes: 15 });
  });

  it('Given each model provider with the fields it takes, When the config is parsed, Then it is accepted', () => {
    expect(parseConfig(minimalConfigFile()).model.provider).toBe('bedrock');
    const anthropic = parseConfig({
      ...minimalConfigFile(),
      model: { ...minimalConfigFile().model, provider: 'anthropic', id: 'claude-sonnet-4-5', apiKeySecret: 'nightshift/anthropic-api-key' },
    });
    expect(anthropic.model).toMatchObject({ provider: 'anthropic', id: 'claude-sonnet-4-5', apiKeySecret: 'nightshift/anthropic-api-key' });
    expect(anthropic.model.baseUrl).toBeUndefined();
    const ollama = parseConfig({
      ...minimalConfigFile(),
      model: {
        ...minimalConfigFile().model,
        provider: 'openai',
        id: 'qwen2.5-coder:32b',
        baseUrl: 'http://127.0.0.1:11434/v1',
        requestTimeoutSeconds: 1_800,
      },
    });
    expect(ollama.model).toMatchObject({ provider: 'openai', id: 'qwen2.5-coder:32b', baseUrl: 'http://127.0.0.1:11434/v1' });
    const vllm = parseConfig({
      ...minimalConfigFile(),
      model: {
        ...minimalConfigFile().model,
        provider: 'openai',
        id: 'Qwen/Qwen2.5-Coder-32B-Instruct',
        baseUrl: 'http://gpu-box.lan:8000/v1',
      },
    });
    expect(vllm.model.id).toBe('Qwen/Qwen2.5-Coder-32B-Instruct');
    const openai = parseConfig({
      ...minimalConfigFile(),
      model: {
        ...minimalConfigFile().model,
        provider: 'openai',
        id: 'gpt-5',
        apiKeySecret: 'nightshift/openai-api-key',
        maxTokensParameter: 'max_completion_tokens',
      },
    });
    expect(openai.model.maxTokensParameter).toBe('max_completion_tokens');
  });

  it('Given the committed example, When it is loaded, Then it is accepted', () => {
    expect(() => loadConfig(join(__dirname, '../../nightshift.config.json'))).not.toThrow();
  });

  const cases: [string, (c: Record<string, any>) => void, string][] = [
    ['repos missing', (c) => delete c.repos, 'repos'],
    ['repos empty', (c) => (c.repos = []), 'repos'],
    ['repo name missing', (c) => (c.repos = [{}]), 'repos.0.name'],
    ['repo name not owner/name', (c) => (c.repos[0].name = 'acme'), 'repos.0.name'],
    ['repo name with ..', (c) => (c.repos[0].name = 'acme/..'), 'repos.0.name'],
    ['duplicate repo', (c) => c.repos.push({ name: 'ACME/web' }), 'repos.1.name'],
    ['repo budget over the max', (c) => (c.repos[0].budgetUsd = 11), 'repos.0.budgetUsd'],
    ['repo maxMinutes over the cap', (c) => (c.repos[0].maxMinutes = 61), 'repos.0.maxMinutes'],
    ['repo unknown field', (c) => (c.repos[0].branch = 'main'), 'repos.0'],
    ['repo secret env name', (c) => (c.repos[0].secrets = { 'lower-case': 'x' }), 'repos.0.secrets.lower-case'],
    ['egress domain with a scheme', (c) => (c.repos[0].egressAllow = ['https://evil.example']), 'repos.0.egressAllow.0'],
    ['model missing', (c) => delete c.model, 'model'],
    ['model id missing', (c) => delete c.model.id, 'model.id'],
    ['model id with spaces', (c) => (c.model.id = 'a model'), 'model.id'],
    ['model id as an ARN', (c) => (c.model.id = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123'), 'model.id'],
    [
      'model id as a foundation-model ARN',
      (c) => (c.model.id = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0'),
      'model.id',
    ],
    ['prices missing', (c) => delete c.model.prices, 'model.prices'],
    ['input price missing', (c) => delete c.model.prices.input, 'model.prices.input'],
    ['output price a string', (c) => (c.model.prices.output = '15'), 'model.prices.output'],
    ['cache read price negative', (c) => (c.model.prices.cacheRead = -1), 'model.prices.cacheRead'],
    ['cache write price missing', (c) => delete c.model.prices.cacheWrite, 'model.prices.cacheWrite'],
    ['fargate missing', (c) => delete c.model.fargate, 'model.fargate'],
    ['fargate vcpu price missing', (c) => delete c.model.fargate.vcpuHourUsd, 'model.fargate.vcpuHourUsd'],
    ['fargate GB price missing', (c) => delete c.model.fargate.gbHourUsd, 'model.fargate.gbHourUsd'],
    ['maxOutputTokens too small', (c) => (c.model.maxOutputTokens = 10), 'model.maxOutputTokens'],
    ['model provider unknown', (c) => (c.model.provider = 'gemini'), 'model.provider'],
    ['bedrock model id with a slash', (c) => (c.model.id = 'meta-llama/Llama-3.1-8B'), 'model.id'],
    ['bedrock with a baseUrl', (c) => (c.model.baseUrl = 'https://api.anthropic.com'), 'model.baseUrl'],
    ['bedrock with an apiKeySecret', (c) => (c.model.apiKeySecret = 'nightshift/key'), 'model.apiKeySecret'],
    [
      'anthropic without apiKeySecret',
      (c) => Object.assign(c.model, { provider: 'anthropic', id: 'claude-sonnet-4-5' }),
      'model.apiKeySecret',
    ],
    [
      'anthropic with maxTokensParameter',
      (c) =>
        Object.assign(c.model, { provider: 'anthropic', id: 'claude-sonnet-4-5', apiKeySecret: 'k', maxTokensParameter: 'max_tokens' }),
      'model.maxTokensParameter',
    ],
    [
      'openai baseUrl with credentials',
      (c) => Object.assign(c.model, { provider: 'openai', id: 'gpt-4.1', baseUrl: 'https://user:pw@gateway.example/v1' }),
      'model.baseUrl',
    ],
    [
      'openai baseUrl with a query',
      (c) => Object.assign(c.model, { provider: 'openai', id: 'gpt-4.1', baseUrl: 'https://gateway.example/v1?key=x' }),
      'model.baseUrl',
    ],
    [
      'openai baseUrl not http',
      (c) => Object.assign(c.model, { provider: 'openai', id: 'gpt-4.1', baseUrl: 'ftp://gateway.example/v1' }),
      'model.baseUrl',
    ],
    [
      'a key over plain http to another host',
      (c) => Object.assign(c.model, { provider: 'openai', id: 'gpt-4.1', baseUrl: 'http://gpu-box.lan:8000/v1', apiKeySecret: 'k' }),
      'model.baseUrl',
    ],
    [
      'request timeout too short',
      (c) => Object.assign(c.model, { provider: 'openai', id: 'gpt-4.1', requestTimeoutSeconds: 1 }),
      'model.requestTimeoutSeconds',
    ],
    ['github missing', (c) => delete c.github, 'github'],
    ['github without a credential', (c) => (c.github = {}), 'github.tokenSecret'],
    ['github App without its key', (c) => (c.github = { appId: 1, installationId: 2 }), 'github.privateKeySecret'],
    ['github comment command', (c) => (c.github.commentCommand = 'nightshift'), 'github.commentCommand'],
    ['perRunUsd zero', (c) => (c.budgets = { perRunUsd: 0 }), 'budgets.perRunUsd'],
    ['perRunUsd over maxPerRunUsd', (c) => (c.budgets = { perRunUsd: 5, maxPerRunUsd: 4 }), 'budgets.perRunUsd'],
    ['daily below per-requester', (c) => (c.budgets = { perRequesterDailyUsd: 50, dailyUsd: 40 }), 'budgets.perRequesterDailyUsd'],
    ['concurrency global zero', (c) => (c.concurrency = { global: 0 }), 'concurrency.global'],
    ['perRepo over global', (c) => (c.concurrency = { global: 2, perRepo: 3 }), 'concurrency.perRepo'],
    ['maxMinutes not an integer', (c) => (c.timeouts = { maxMinutes: 1.5 }), 'timeouts.maxMinutes'],
    ['noProgressMinutes over maxMinutes', (c) => (c.timeouts = { maxMinutes: 5, noProgressMinutes: 6 }), 'timeouts.noProgressMinutes'],
    [
      'schedule for an unknown repo',
      (c) => (c.schedules = [{ name: 'n', cron: '0 3 * * ? *', repo: 'other/repo', prompt: 'p' }]),
      'schedules.0.repo',
    ],
    [
      'schedule cron with five fields',
      (c) => (c.schedules = [{ name: 'n', cron: '0 3 * * *', repo: 'acme/web', prompt: 'p' }]),
      'schedules.0.cron',
    ],
    ['alarm e-mail', (c) => (c.alarms = { emails: ['not-an-email'] }), 'alarms.emails.0'],
    ['auth type unknown', (c) => (c.auth = { type: 'basic' }), 'auth.type'],
    ['jwt without issuer', (c) => (c.auth = { type: 'jwt', audience: ['x'] }), 'auth.issuer'],
    [
      'admin as an assumed-role session (caller-chosen name)',
      (c) => (c.auth = { type: 'iam', admins: ['arn:aws:sts::123456789012:assumed-role/Admin/alice'] }),
      'auth.admins.0',
    ],
    [
      'admin as a federated user (caller-chosen name)',
      (c) => (c.auth = { type: 'iam', admins: ['arn:aws:sts::123456789012:federated-user/alice'] }),
      'auth.admins.0',
    ],
    ['admin that is no principal', (c) => (c.auth = { type: 'iam', admins: ['alice'] }), 'auth.admins.0'],
    ['admin wildcard', (c) => (c.auth = { type: 'iam', admins: ['arn:aws:iam::123456789012:role/*'] }), 'auth.admins.0'],
    ['JWT group admin under IAM auth', (c) => (c.auth = { type: 'iam', admins: ['group:admins'] }), 'auth.admins.0'],
    [
      'IAM admin under JWT auth',
      (c) =>
        (c.auth = { type: 'jwt', issuer: 'https://id.example.com', audience: ['x'], admins: ['arn:aws:iam::123456789012:user/alice'] }),
      'auth.admins.0',
    ],
    [
      'jwt groups claim',
      (c) => (c.auth = { type: 'jwt', issuer: 'https://id.example.com', audience: ['x'], groupsClaim: 'a b' }),
      'auth.groupsClaim',
    ],
    ['repo requesters empty', (c) => (c.repos[0].requesters = []), 'repos.0.requesters'],
    [
      'repo requester as a session',
      (c) => (c.repos[0].requesters = ['arn:aws:sts::123456789012:assumed-role/dev/bob']),
      'repos.0.requesters.0',
    ],
    ['repo requester as a JWT subject under IAM auth', (c) => (c.repos[0].requesters = ['jwt:abc']), 'repos.0.requesters.0'],
    ['region', (c) => (c.region = 'mars'), 'region'],
    ['unknown top-level field', (c) => (c.budget = {}), '(root)'],
  ];

  it.each(cases)('Given %s, When the config is parsed, Then it is reported at its path', (_name, mutate, path) => {
    const problems = problemsOf(mutate);
    expect(problems.map((p) => p.path)).toContain(path);
    expect(problems.every((p) => p.message.length > 0)).toBe(true);
  });

  it('Given admins and requesters in every spelling the authorizers present, When the config is parsed, Then they are accepted', () => {
    const iam = parseConfig({
      ...minimalConfigFile(),
      repos: [{ name: 'acme/web', requesters: ['arn:aws:iam::123456789012:role/team/dev', 'arn:aws:sts::123456789012:assumed-role/ci'] }],
      auth: {
        type: 'iam',
        admins: [
          'arn:aws:iam::123456789012:user/ops/alice',
          'arn:aws-us-gov:iam::123456789012:role/Admin',
          'arn:aws:iam::123456789012:root',
          'local:root',
        ],
      },
    });
    expect(iam.auth.admins).toHaveLength(4);
    expect(repoSettings(iam, 'acme/web')?.requesters).toHaveLength(2);
    const jwt = parseConfig({
      ...minimalConfigFile(),
      repos: [{ name: 'acme/web', requesters: ['jwt:u-1', 'group:web'] }],
      auth: { type: 'jwt', issuer: 'https://id.example.com', audience: ['x'], admins: ['group:admins'] },
    });
    expect(jwt.auth).toMatchObject({ admins: ['group:admins'], groupsClaim: 'groups' });
  });

  it('Given several bad fields, When the config is parsed, Then every one is reported at once, each with its path in the message', () => {
    const problems = problemsOf((c) => {
      delete c.model.prices.input;
      c.repos[0].name = 'bad';
    });
    expect(problems.map((p) => p.path).sort()).toEqual(['model.prices.input', 'repos.0.name']);
    expect(() => parseConfig({ ...minimalConfigFile(), repos: [{ name: 'bad' }] }, 'cfg.json')).toThrow(/cfg\.json[\s\S]*repos\.0\.name/);
  });

  it('Given the proxy on demand, When noProgressMinutes is under 5, Then the config is refused at that path; at 5 it is accepted', () => {
    const onDemand = (noProgressMinutes: number) => ({
      ...minimalConfigFile(),
      timeouts: { maxMinutes: 30, noProgressMinutes },
      network: { proxy: 'on-demand', proxyIdleMinutes: 10 },
    });
    expect(() => parseConfig(onDemand(4), 'cfg.json')).toThrow(
      /timeouts\.noProgressMinutes[\s\S]*at least 5 with network\.proxy "on-demand"/,
    );
    expect(parseConfig(onDemand(5)).network).toEqual({ maxAzs: 1, proxy: 'on-demand', proxyIdleMinutes: 10 });
    expect(() => parseConfig({ ...minimalConfigFile(), timeouts: { maxMinutes: 30, noProgressMinutes: 4 } })).not.toThrow();
    expect(() => parseConfig({ ...minimalConfigFile(), network: { proxy: 'sometimes' } })).toThrow(/network\.proxy/);
    expect(() => parseConfig({ ...minimalConfigFile(), network: { proxy: 'on-demand', proxyIdleMinutes: 0 } })).toThrow(
      /network\.proxyIdleMinutes/,
    );
  });

  it('Given a config file that cannot be read or is not JSON, When it is loaded, Then the error names the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-config-'));
    expect(() => loadConfig(join(dir, 'absent.json'))).toThrow(/absent\.json[\s\S]*\(file\): the file does not exist/);
    writeFileSync(join(dir, 'broken.json'), '{ "repos": [');
    expect(() => loadConfig(join(dir, 'broken.json'))).toThrow(/broken\.json[\s\S]*\(file\): not valid JSON/);
  });

  it('Given repos with their own values, When a repo is resolved, Then it is matched case-insensitively with the repo values over the defaults', () => {
    const config = parseConfig({ ...minimalConfigFile(), repos: [{ name: 'acme/web', budgetUsd: 1, spot: true }, { name: 'acme/api' }] });
    expect(repoSettings(config, 'ACME/WEB')).toMatchObject({ name: 'acme/web', budgetUsd: 1, maxMinutes: 60, spot: true });
    expect(repoSettings(config, 'acme/api')).toMatchObject({ budgetUsd: 2, spot: false });
    expect(repoSettings(config, 'acme/other')).toBeUndefined();
  });
});
