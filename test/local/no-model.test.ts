import { rmSync } from 'node:fs';
import { startDevProcess, type DevProcess } from './dev-process';
import { sampleRepo, testHome } from './platform-harness';

/** `npm start` on a fresh machine: no AWS credentials, no provider in the config, no replay. */
describe('local mode without a model', () => {
  let dev: DevProcess;
  let root: string;
  beforeAll(async () => {
    const { home, configFile } = testHome();
    root = home.root;
    dev = await startDevProcess({ home, configFile });
  }, 120_000);
  afterAll(() => {
    dev?.child.kill('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  });

  it('Given no model, When the platform starts, Then it is up and says runs have no model', async () => {
    const health = await fetch(`${dev.url}/v1/health`);
    expect(health.status).toBe(200);
    expect(dev.output()).toMatch(/"model":null/);
  });

  it('Given no model, When a run is submitted, Then it is a 422 naming how to configure one, and nothing is written', async () => {
    const headers = { 'content-type': 'application/json' };
    const submitted = await fetch(`${dev.url}/v1/runs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ repo: sampleRepo, prompt: 'Fix the failing test' }),
    });
    expect(submitted.status).toBe(422);
    const body = (await submitted.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('no_model');
    expect(body.error.message).toMatch(/model\.provider .*NIGHTSHIFT_MODEL=replay:<session\.jsonl>.*AWS credentials for Bedrock/);
    const runs = (await (await fetch(`${dev.url}/v1/runs`)).json()) as { runs: unknown[] };
    expect(runs.runs).toEqual([]);
  });
});
