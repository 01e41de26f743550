import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NightshiftHome } from '../../local/home';
import { localPlatformOptionsFromEnv } from '../../local/platform-options';
import type { MessagesRequest } from '../../runner/model/anthropic-wire';
import { messagesRequestViolations } from '../../runner/model/request-rules';
import { messagesResponseOf, sessionResponses, startModelServer, type ModelServer } from '../runner/support/model-servers';
import { spawn, spawnSync } from 'node:child_process';
import { cliBin, repoRoot, runCli, startDevProcess, type CliResult, type DevProcess } from './dev-process';
import { fastSession, testHome } from './platform-harness';
import { localFixture } from '../support/test-config';

/**
 * Local mode with a live provider, as a newcomer runs it: `model.provider: "anthropic"` in the config,
 * ANTHROPIC_API_KEY in the environment, `nightshift dev --record <dir>`, `nightshift submit --wait`. The
 * Anthropic API is a loopback server speaking the Messages API that answers the demo session.
 */

/** The CLI as a separate process, without blocking this one: the loopback model server answers from here. */
function runCliAsync(args: string[], api: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliBin, ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NIGHTSHIFT_API: api },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('local mode with the anthropic provider, recording the run', () => {
  const KEY = 'sk-ant-local-newcomer-key-3e8a91';
  let server: ModelServer;
  let dev: DevProcess;
  let home: NightshiftHome;
  beforeAll(async () => {
    const responses = sessionResponses(fastSession);
    let served = 0;
    server = await startModelServer(() => {
      const response = responses[served++];
      return response
        ? { kind: 'json', body: messagesResponseOf(response, `msg_${served}`) }
        : { kind: 'json', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'no more turns' } } };
    });
    const base = localFixture();
    const prepared = testHome({
      ...base,
      model: {
        ...base.model,
        provider: 'anthropic',
        id: 'claude-sonnet-4-5',
        baseUrl: server.url,
        apiKeySecret: 'nightshift/anthropic-api-key',
      },
    });
    home = prepared.home;
    dev = await startDevProcess({
      home,
      configFile: prepared.configFile,
      env: { ANTHROPIC_API_KEY: KEY },
      args: ['--record', join(home.root, 'recordings')],
    });
  }, 120_000);
  afterAll(async () => {
    const exited = new Promise((resolve) => dev.child.once('exit', resolve));
    dev.child.kill('SIGTERM');
    await exited;
    await server.stop();
    rmSync(home.root, { recursive: true, force: true });
  });

  it('Given the anthropic provider configured and its key in the environment, When a run is served, Then the key reaches the provider in the header only, and the run is recorded redacted for replay', async () => {
    expect(dev.output()).toContain('"model":"anthropic"');

    const submitted = await runCliAsync(['submit', 'demo/sample-app', 'Fix slugify so the tests pass.', '--wait'], dev.url);
    if (submitted.code !== 0) {
      const runnerLogs = readdirSync(home.logs)
        .filter((f) => f.endsWith('.runner.log'))
        .map((f) => readFileSync(join(home.logs, f), 'utf8').slice(-3000));
      throw new Error(
        `submit --wait exited ${submitted.code} after ${server.requests.length} model requests:\n${submitted.stdout}\n${runnerLogs.join('\n').slice(-1500)}`,
      );
    }
    const runId = /^([0-9A-Z]{26}) SUCCEEDED · outcome pr_opened/m.exec(submitted.stdout)?.[1];
    expect(runId).toBeDefined();

    // the key came from the platform's environment through the local broker, in the header only
    expect(server.requests.length).toBe(sessionResponses(fastSession).length);
    for (const request of server.requests) {
      expect(request.path).toBe('/v1/messages');
      expect(request.headers['x-api-key']).toBe(KEY);
      expect(messagesRequestViolations(request.body as MessagesRequest)).toEqual([]);
      expect(JSON.stringify(request.body)).not.toContain(KEY);
    }
    const runnerLog = readFileSync(join(home.logs, `${runId}.runner.log`), 'utf8');
    expect(runnerLog).not.toContain(KEY);

    // the recording: one Converse line per turn and the tool outputs the model saw, replayable, without the key
    expect(readdirSync(join(home.root, 'recordings')).sort()).toEqual([`${runId}.jsonl`, `${runId}.outputs.json`]);
    const recorded = readFileSync(join(home.root, 'recordings', `${runId}.jsonl`), 'utf8');
    expect(recorded).not.toContain(KEY);
    expect(readFileSync(join(home.root, 'recordings', `${runId}.outputs.json`), 'utf8')).not.toContain(KEY);
    const lines = recorded
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { stopReason: string });
    expect(lines.map((l) => l.stopReason)).toEqual(sessionResponses(fastSession).map((r) => r.stopReason));
    const status = JSON.parse(runCli(['--json', 'status', runId!], dev.url).stdout) as {
      model?: unknown;
      tokens: { input: number; output: number };
    };
    const usage = sessionResponses(fastSession).reduce((sum, r) => sum + r.usage.outputTokens, 0);
    expect(status.tokens.output).toBe(usage);
  }, 180_000);
});

describe('nightshift dev options for the model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ns-model-options-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const configWith = (model: Record<string, unknown>) => {
    const file = join(dir, `config-${Math.random().toString(16).slice(2)}.json`);
    const base = localFixture();
    writeFileSync(file, JSON.stringify({ ...base, model: { ...base.model, ...model } }));
    return file;
  };
  const options = (env: Record<string, string>) =>
    localPlatformOptionsFromEnv({ NIGHTSHIFT_HOME: join(dir, 'home'), ...env }, { logTo: 'file' });

  it("Given a config with the anthropic or openai provider and no NIGHTSHIFT_MODEL, When the options are read, Then the config's provider is taken, and the recording directory", () => {
    const anthropic = configWith({ provider: 'anthropic', id: 'claude-sonnet-4-5', apiKeySecret: 'k' });
    expect(options({ NIGHTSHIFT_CONFIG: anthropic, NIGHTSHIFT_RECORD: join(dir, 'rec') })).toMatchObject({
      model: 'anthropic',
      recordDir: join(dir, 'rec'),
    });
    expect(
      options({ NIGHTSHIFT_CONFIG: configWith({ provider: 'openai', id: 'llama3.1:8b', baseUrl: 'http://127.0.0.1:11434/v1' }) }).model,
    ).toBe('openai');
  });

  it('Given a NIGHTSHIFT_MODEL naming another provider than the config, When the options are read at start, Then it is refused in one line; a replay is accepted', () => {
    const anthropic = configWith({ provider: 'anthropic', id: 'claude-sonnet-4-5', apiKeySecret: 'k' });
    expect(() => options({ NIGHTSHIFT_CONFIG: anthropic, NIGHTSHIFT_MODEL: 'openai' })).toThrow(
      "NIGHTSHIFT_MODEL=openai but the config's model.provider is anthropic: unset NIGHTSHIFT_MODEL or set model.provider (docs/providers.md)",
    );
    expect(() => options({ NIGHTSHIFT_CONFIG: configWith({}), NIGHTSHIFT_MODEL: 'anthropic' })).toThrow(
      "the config's model.provider is bedrock",
    );
    expect(options({ NIGHTSHIFT_CONFIG: anthropic, NIGHTSHIFT_MODEL: `replay:${fastSession}` }).model).toBe(`replay:${fastSession}`);
  });

  it('Given a NIGHTSHIFT_MODEL that is no choice, When the options are read at start, Then it is refused in one line listing the valid ones', () => {
    const config = configWith({});
    for (const typo of ['bedrok', 'Anthropic', 'replay', 'openai:gpt-4o']) {
      expect(() => options({ NIGHTSHIFT_CONFIG: config, NIGHTSHIFT_MODEL: typo })).toThrow(
        `NIGHTSHIFT_MODEL=${typo} is not a model choice: use "bedrock", "anthropic", "openai" or "replay:<file>" (docs/providers.md)`,
      );
    }
    expect(() => options({ NIGHTSHIFT_CONFIG: config, NIGHTSHIFT_MODEL: 'replay:' })).toThrow(
      'NIGHTSHIFT_MODEL=replay: needs a file: replay:<session.jsonl>',
    );
  });

  it('Given a replay file that cannot be read or whose first line is not a response, When the options are read at start, Then it is refused in one line', () => {
    const config = configWith({});
    const missing = join(dir, 'missing.jsonl');
    expect(() => options({ NIGHTSHIFT_CONFIG: config, NIGHTSHIFT_MODEL: `replay:${missing}` })).toThrow(
      `NIGHTSHIFT_MODEL=replay:${missing}: cannot read the replayed session ${missing} (ENOENT)`,
    );
    expect(() => options({ NIGHTSHIFT_CONFIG: config, NIGHTSHIFT_MODEL: `replay:${dir}` })).toThrow(
      `cannot read the replayed session ${dir} (EISDIR)`,
    );
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '\n\n');
    expect(() => options({ NIGHTSHIFT_CONFIG: config, NIGHTSHIFT_MODEL: `replay:${empty}` })).toThrow(
      `the replayed session ${empty} has no responses`,
    );
    const notJson = join(dir, 'not-json.jsonl');
    writeFileSync(notJson, '\n{"output": \n');
    expect(() => options({ NIGHTSHIFT_CONFIG: config, NIGHTSHIFT_MODEL: `replay:${notJson}` })).toThrow(
      new RegExp(`^NIGHTSHIFT_MODEL=replay:${notJson}: line 2 of ${notJson} is not JSON \\(`),
    );
    const notResponse = join(dir, 'not-response.jsonl');
    writeFileSync(notResponse, `${JSON.stringify({ role: 'assistant', text: 'hi' })}\n`);
    const refused = (() => {
      try {
        options({ NIGHTSHIFT_CONFIG: config, NIGHTSHIFT_MODEL: `replay:${notResponse}` });
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(refused).toMatch(
      new RegExp(`^NIGHTSHIFT_MODEL=replay:${notResponse}: line 1 of ${notResponse} is not a recorded model response \\(.+\\)$`),
    );
    expect(refused).not.toContain('\n');
  });

  it('Given a bad NIGHTSHIFT_MODEL, When nightshift dev starts, Then it exits 1 at once with the one line on stderr and starts nothing', () => {
    const started = spawnSync(process.execPath, [cliBin, 'dev'], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: '0',
        NIGHTSHIFT_HOME: join(dir, 'dev-home'),
        NIGHTSHIFT_CONFIG: configWith({}),
        NIGHTSHIFT_MODEL: 'anthropc',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(started.status).toBe(1);
    expect(started.stdout).toBe('');
    expect(started.stderr).toBe(
      'error: NIGHTSHIFT_MODEL=anthropc is not a model choice: use "bedrock", "anthropic", "openai" or "replay:<file>" (docs/providers.md)\n',
    );
  });
});
