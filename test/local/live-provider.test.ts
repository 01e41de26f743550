import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NightshiftHome } from '../../local/home';
import type { MessagesRequest } from '../../runner/model/anthropic-wire';
import { messagesRequestViolations } from '../../runner/model/request-rules';
import { messagesResponseOf, sessionResponses, startModelServer, type ModelServer } from '../runner/support/model-servers';
import { spawn } from 'node:child_process';
import { cliBin, repoRoot, runCli, startDevProcess, type CliResult, type DevProcess } from './dev-process';
import { fastSession, testConfig, testHome } from './platform-harness';

/**
 * Local mode with a live provider, as a newcomer runs it: `model.provider: "anthropic"` in the config,
 * ANTHROPIC_API_KEY in the environment, `nightshift dev --record <dir>`, `nightshift submit --wait`. The
 * Anthropic API is a loopback server speaking the Messages API that answers the demo session.
 */
/** The CLI as a separate process, without blocking this one: the loopback model server answers from here. */
function runCliAsync(args: string[], api: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliBin, ...args], { cwd: repoRoot, env: { PATH: process.env.PATH, HOME: process.env.HOME, NIGHTSHIFT_API: api } });
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
      return response ? { kind: 'json', body: messagesResponseOf(response, `msg_${served}`) } : { kind: 'json', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'no more turns' } } };
    });
    const base = testConfig();
    const prepared = testHome({ ...base, model: { ...base.model, provider: 'anthropic', id: 'claude-sonnet-4-5', baseUrl: server.url, apiKeySecret: 'nightshift/anthropic-api-key' } });
    home = prepared.home;
    dev = await startDevProcess({ home, configFile: prepared.configFile, env: { ANTHROPIC_API_KEY: KEY }, args: ['--record', join(home.root, 'recordings')] });
  }, 120_000);
  afterAll(async () => {
    const exited = new Promise((resolve) => dev.child.once('exit', resolve));
    dev.child.kill('SIGTERM');
    await exited;
    await server.stop();
    rmSync(home.root, { recursive: true, force: true });
  });

  it('serves the run from the configured provider with the key from the environment, and records it redacted for replay', async () => {
    expect(dev.output()).toContain('"model":"anthropic"');

    const submitted = await runCliAsync(['submit', 'demo/sample-app', 'Fix slugify so the tests pass.', '--wait'], dev.url);
    if (submitted.code !== 0) {
      const runnerLogs = readdirSync(home.logs).filter((f) => f.endsWith('.runner.log')).map((f) => readFileSync(join(home.logs, f), 'utf8').slice(-3000));
      throw new Error(`submit --wait exited ${submitted.code} after ${server.requests.length} model requests:\n${submitted.stdout}\n${runnerLogs.join('\n').slice(-1500)}`);
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

    // the recording: one Converse line per turn, replayable, without the key
    expect(readdirSync(join(home.root, 'recordings'))).toEqual([`${runId}.jsonl`]);
    const recorded = readFileSync(join(home.root, 'recordings', `${runId}.jsonl`), 'utf8');
    expect(recorded).not.toContain(KEY);
    const lines = recorded.trimEnd().split('\n').map((l) => JSON.parse(l) as { stopReason: string });
    expect(lines.map((l) => l.stopReason)).toEqual(sessionResponses(fastSession).map((r) => r.stopReason));
    const status = JSON.parse(runCli(['--json', 'status', runId!], dev.url).stdout) as { model?: unknown; tokens: { input: number; output: number } };
    const usage = sessionResponses(fastSession).reduce((sum, r) => sum + r.usage.outputTokens, 0);
    expect(status.tokens.output).toBe(usage);
  }, 180_000);
});
