import { rmSync } from 'node:fs';
import { openApiDocument } from '../../lambdas/api/openapi';
import { openApiValidator } from '../support/openapi-validator';
import { startDevProcess, stopDevProcess, type DevProcess } from './dev-process';
import { fastSession, sampleRepo, testHome } from './platform-harness';
import { eventually } from '../support/eventually';
import { isTerminal, type RunStatus } from '../../core/runs/lifecycle';

/**
 * Every handler's answers, as `nightshift dev` serves them over HTTP, checked against the OpenAPI
 * document: each status must be documented for its operation and each body must match its schema.
 */
describe('the handlers answer as the OpenAPI document says', () => {
  let dev: DevProcess;
  let root: string;
  const validator = openApiValidator(openApiDocument());
  const checked: string[] = [];

  beforeAll(async () => {
    const { home, configFile } = testHome();
    root = home.root;
    dev = await startDevProcess({ home, configFile, session: fastSession });
  }, 180_000);
  afterAll(async () => {
    if (dev) await stopDevProcess(dev.child);
    rmSync(root, { recursive: true, force: true });
  });

  /** Calls the API and checks the answer against the operation `method pathTemplate`. */
  async function call(
    method: 'GET' | 'POST',
    pathTemplate: string,
    path: string,
    options: { body?: string; headers?: Record<string, string> } = {},
  ) {
    const response = await fetch(`${dev.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...options.headers },
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(validator.check(method, pathTemplate, response.status, body)).toEqual([]);
    checked.push(`${method} ${pathTemplate} ${response.status}`);
    return { status: response.status, body };
  }
  const submit = (body: unknown, headers: Record<string, string> = {}) =>
    call('POST', '/v1/runs', '/v1/runs', { body: JSON.stringify(body), headers });

  it('Given a run submitted and finished, When every route is called, Then each answer matches the document', async () => {
    const accepted = await submit({ repo: sampleRepo, prompt: 'Fix the failing test' }, { 'idempotency-key': 'openapi-1' });
    expect(accepted.status).toBe(202);
    const runId = String(accepted.body.runId);
    const finished = await eventually(
      async () => {
        const run = await call('GET', '/v1/runs/{runId}', `/v1/runs/${runId}`);
        return isTerminal(run.body.status as RunStatus) ? run : undefined;
      },
      'the run to end',
      120_000,
    );
    expect(finished.body.status).toBe('SUCCEEDED');

    expect((await call('GET', '/v1/runs', '/v1/runs?limit=5')).status).toBe(200);
    expect((await call('GET', '/v1/runs/{runId}/events', `/v1/runs/${runId}/events`)).status).toBe(200);
    expect((await call('POST', '/v1/runs/{runId}/cancel', `/v1/runs/${runId}/cancel`, { body: '{}' })).status).toBe(409);
    expect((await call('GET', '/v1/openapi.json', '/v1/openapi.json')).body).toEqual(openApiDocument());
    expect((await call('GET', '/v1/admin/intake', '/v1/admin/intake')).body).toMatchObject({ paused: false });
    // The run asked nothing; its end left its pr_ready item, which is read and dismissed as the document says.
    const inbox = await call('GET', '/v1/inbox', '/v1/inbox?state=all');
    const items = inbox.body.items as { itemId: string; type: string; runId: string }[];
    expect(items.map((i) => [i.type, i.runId])).toEqual([['pr_ready', runId]]);
    const itemPath = `/v1/inbox/${items[0]!.itemId}`;
    expect((await call('GET', '/v1/inbox/{itemId}', itemPath)).body).toMatchObject({ type: 'pr_ready', state: 'open' });
    expect((await call('POST', '/v1/inbox/{itemId}', itemPath, { body: '{"action":"dismiss"}' })).body).toMatchObject({
      state: 'resolved',
      resolution: { action: 'dismiss' },
    });
  }, 180_000);

  it('Given bad requests, When the handlers refuse them, Then every refusal is a documented status with the error envelope', async () => {
    expect((await submit({ repo: sampleRepo, prompt: '' })).status).toBe(400);
    expect((await submit({ repo: 'someone/else', prompt: 'x' })).status).toBe(403);
    expect((await submit({ repo: sampleRepo, prompt: 'another body' }, { 'idempotency-key': 'openapi-1' })).status).toBe(409);
    expect((await submit({ repo: sampleRepo, prompt: 'x'.repeat(70_000) })).status).toBe(413);
    expect((await call('POST', '/v1/runs', '/v1/runs', { body: '{not json' })).status).toBe(400);
    expect((await call('GET', '/v1/runs', '/v1/runs?limit=1000')).status).toBe(400);
    expect((await call('GET', '/v1/runs', '/v1/runs?cursor=not-ours')).status).toBe(400);
    expect((await call('GET', '/v1/runs/{runId}', '/v1/runs/01JZ0000000000000000000000')).status).toBe(404);
    expect((await call('GET', '/v1/runs/{runId}/events', '/v1/runs/nope/events')).status).toBe(404);
    expect((await call('GET', '/v1/runs/{runId}/diff', '/v1/runs/01JZ0000000000000000000000/diff')).status).toBe(404);
    expect(
      (await call('POST', '/v1/runs/{runId}/cancel', '/v1/runs/01JZ0000000000000000000000/cancel', { body: '{"now":true}' })).status,
    ).toBe(400);
    expect((await call('POST', '/v1/runs/{runId}/cancel', '/v1/runs/01JZ0000000000000000000000/cancel')).status).toBe(404);
    expect((await call('POST', '/v1/admin/intake', '/v1/admin/intake', { body: '{"action":"stop"}' })).status).toBe(400);
    expect((await call('GET', '/v1/inbox', '/v1/inbox?state=closed')).status).toBe(400);
    expect((await call('GET', '/v1/inbox/{itemId}', '/v1/inbox/01JZ0000000000000000000000')).status).toBe(404);
    expect(
      (await call('POST', '/v1/inbox/{itemId}', '/v1/inbox/01JZ0000000000000000000000', { body: '{"action":"answer","answer":"yes"}' }))
        .status,
    ).toBe(404);
    expect((await call('POST', '/v1/inbox/{itemId}', '/v1/inbox/01JZ0000000000000000000000', { body: '{"action":"shrug"}' })).status).toBe(
      400,
    );
  }, 60_000);

  it('Given intake paused, When a run is submitted, Then the 503 and the switch answers match the document', async () => {
    expect(
      (await call('POST', '/v1/admin/intake', '/v1/admin/intake', { body: JSON.stringify({ action: 'pause', reason: 'openapi test' }) }))
        .body,
    ).toMatchObject({ paused: true });
    expect((await submit({ repo: sampleRepo, prompt: 'Fix the failing test' })).status).toBe(503);
    expect((await call('POST', '/v1/admin/intake', '/v1/admin/intake', { body: JSON.stringify({ action: 'resume' }) })).body).toMatchObject(
      { paused: false },
    );
    // Every operation but the GitHub webhook (not configured here; test/github covers its answers) was checked.
    const operations = Object.entries(openApiDocument().paths as Record<string, object>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const reached = new Set(checked.map((c) => c.replace(/ \d+$/, '')));
    expect(operations.filter((op) => !reached.has(op))).toEqual(['POST /v1/webhooks/github']);
  }, 60_000);
});
