import './quiet-powertools';
import { finalizeRun } from '../../core/runs/finalize';
import { cancelRunHandler } from '../../lambdas/api/cancel-run';
import { getRunEventsHandler } from '../../lambdas/api/get-run-events';
import { getRunHandler } from '../../lambdas/api/get-run';
import type { ApiEvent, ApiResult } from '../../lambdas/api/http';
import { listRunsHandler } from '../../lambdas/api/list-runs';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { apiEvent, bodyOf, snapshotTables, startApi, type ApiHarness } from './api-harness';

type Route = 'submit' | 'list' | 'get' | 'cancel' | 'events';
type Case = [name: string, route: Route, event: (ids: { queued: string; ended: string }) => ApiEvent, status: number, code?: string];

const ok = { repo: 'acme/web', prompt: 'Fix the flaky test' };
const submitBody = (patch: Record<string, unknown>) => apiEvent({ body: { ...ok, ...patch } });
const raw = (body: string) => apiEvent({ body });
const unknownId = '01J00000000000000000000000';

const cases: Case[] = [
  // malformed bodies
  ['malformed JSON', 'submit', () => raw('{"repo": "acme/web",'), 400, 'malformed_json'],
  ['empty body', 'submit', () => raw(''), 400, 'malformed_json'],
  ['no body at all', 'submit', () => apiEvent({}), 400, 'malformed_json'],
  ['JSON array', 'submit', () => raw('[]'), 400, 'invalid_request'],
  ['JSON string', 'submit', () => raw('"run"'), 400, 'invalid_request'],
  ['JSON null', 'submit', () => raw('null'), 400, 'invalid_request'],
  [
    'invalid UTF-8',
    'submit',
    () => ({ ...apiEvent({}), body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64'), isBase64Encoded: true }),
    400,
    'malformed_body',
  ],
  ['body over 64 KiB', 'submit', () => submitBody({ prompt: 'x'.repeat(70_000) }), 413, 'body_too_large'],
  [
    'base64 body over 64 KiB',
    'submit',
    () => apiEvent({ body: { ...ok, prompt: 'y'.repeat(66_000) }, base64: true }),
    413,
    'body_too_large',
  ],
  ['a huge base64 body', 'submit', () => ({ ...apiEvent({}), body: 'A'.repeat(2_000_000), isBase64Encoded: true }), 413, 'body_too_large'],
  // wrong types and unknown fields
  ['prompt a number', 'submit', () => submitBody({ prompt: 5 }), 400, 'invalid_request'],
  ['repo a number', 'submit', () => submitBody({ repo: 1 }), 400, 'invalid_request'],
  ['budget a string', 'submit', () => submitBody({ budgetUsd: '1' }), 400, 'invalid_request'],
  ['maxMinutes fractional', 'submit', () => submitBody({ maxMinutes: 1.5 }), 400, 'invalid_request'],
  ['issue negative', 'submit', () => submitBody({ issue: -1 }), 400, 'invalid_request'],
  ['labels a string', 'submit', () => submitBody({ labels: 'deps' }), 400, 'invalid_request'],
  ['label with a space', 'submit', () => submitBody({ labels: ['a b'] }), 400, 'invalid_request'],
  ['too many labels', 'submit', () => submitBody({ labels: Array.from({ length: 11 }, (_, i) => `l${i}`) }), 400, 'invalid_request'],
  ['unknown field', 'submit', () => submitBody({ admin: true }), 400, 'invalid_request'],
  ['__proto__ field', 'submit', () => raw('{"repo":"acme/web","prompt":"p","__proto__":{"admin":true}}'), 400, 'invalid_request'],
  ['source field', 'submit', () => submitBody({ source: 'schedule' }), 400, 'invalid_request'],
  // repository
  ['repo without owner', 'submit', () => submitBody({ repo: 'web' }), 400, 'invalid_request'],
  ['repo with three parts', 'submit', () => submitBody({ repo: 'acme/web/x' }), 400, 'invalid_request'],
  ['repo path traversal', 'submit', () => submitBody({ repo: 'acme/..' }), 400, 'invalid_request'],
  ['repo dot name', 'submit', () => submitBody({ repo: 'acme/.git' }), 400, 'invalid_request'],
  ['repo URL', 'submit', () => submitBody({ repo: 'https://github.com/acme/web' }), 400, 'invalid_request'],
  ['repo not allowlisted', 'submit', () => submitBody({ repo: 'other/repo' }), 403, 'repo_not_allowed'],
  // branches git would reject, or that read as options
  ...[
    '-rf',
    '--upload-pack=x',
    'a..b',
    'a b',
    'x.lock',
    'HEAD',
    'a~1',
    'a^',
    'a:b',
    '/x',
    'x/',
    'x.',
    '@',
    'a//b',
    'a@{1}',
    '.hidden',
    'br\u00e2nch',
    'a\\b',
    'a*',
    'a?',
    'a[',
    '',
  ].map((branch): Case => [`branch ${JSON.stringify(branch)}`, 'submit', () => submitBody({ branch }), 400, 'invalid_request']),
  ['baseBranch starting with -', 'submit', () => submitBody({ baseBranch: '-x' }), 400, 'invalid_request'],
  ['branch too long', 'submit', () => submitBody({ branch: 'b'.repeat(201) }), 400, 'invalid_request'],
  // prompt
  ['empty prompt', 'submit', () => submitBody({ prompt: '' }), 400, 'invalid_request'],
  ['blank prompt', 'submit', () => submitBody({ prompt: ' \n\t ' }), 400, 'invalid_request'],
  ['over-long prompt', 'submit', () => submitBody({ prompt: 'x'.repeat(20_001) }), 400, 'invalid_request'],
  ['bidi override', 'submit', () => submitBody({ prompt: 'rename \u202Eexe.txt' }), 400, 'invalid_request'],
  ['bidi isolate', 'submit', () => submitBody({ prompt: 'a\u2066b' }), 400, 'invalid_request'],
  ['NUL', 'submit', () => submitBody({ prompt: 'a\u0000b' }), 400, 'invalid_request'],
  ['lone surrogate', 'submit', () => raw('{"repo":"acme/web","prompt":"a\\ud800b"}'), 400, 'invalid_request'],
  ['zero-width space', 'submit', () => submitBody({ prompt: 'a\u200Bb' }), 400, 'invalid_request'],
  ['BOM', 'submit', () => submitBody({ prompt: '\uFEFFfix' }), 400, 'invalid_request'],
  ['escape sequence', 'submit', () => submitBody({ prompt: 'a\u001b[31mred' }), 400, 'invalid_request'],
  // money and time
  ['budget zero', 'submit', () => submitBody({ budgetUsd: 0 }), 400, 'invalid_request'],
  ['budget negative', 'submit', () => submitBody({ budgetUsd: -1 }), 400, 'invalid_request'],
  ['budget over maxPerRunUsd', 'submit', () => submitBody({ budgetUsd: 5.01 }), 400, 'invalid_request'],
  ['budget absurd', 'submit', () => submitBody({ budgetUsd: 1e300 }), 400, 'invalid_request'],
  ['budget below a micro-dollar', 'submit', () => submitBody({ budgetUsd: 1e-9 }), 400, 'invalid_request'],
  ['maxMinutes over the cap', 'submit', () => submitBody({ maxMinutes: 61 }), 400, 'invalid_request'],
  ['maxMinutes zero', 'submit', () => submitBody({ maxMinutes: 0 }), 400, 'invalid_request'],
  // headers and identity
  ['Idempotency-Key with a space', 'submit', () => apiEvent({ body: ok, headers: { 'idempotency-key': 'a b' } }), 400, 'invalid_request'],
  [
    'Idempotency-Key too long',
    'submit',
    () => apiEvent({ body: ok, headers: { 'idempotency-key': 'k'.repeat(256) } }),
    400,
    'invalid_request',
  ],
  [
    'source header claiming a webhook',
    'submit',
    () => apiEvent({ body: ok, headers: { 'x-nightshift-source': 'github_issue' } }),
    400,
    'invalid_request',
  ],
  ['no caller identity', 'submit', () => apiEvent({ body: ok, requester: null }), 401, 'unauthenticated'],
  // list
  ['limit 0', 'list', () => apiEvent({ query: { limit: '0' } }), 400, 'invalid_request'],
  ['limit 101', 'list', () => apiEvent({ query: { limit: '101' } }), 400, 'invalid_request'],
  ['limit not a number', 'list', () => apiEvent({ query: { limit: 'ten' } }), 400, 'invalid_request'],
  ['limit negative', 'list', () => apiEvent({ query: { limit: '-1' } }), 400, 'invalid_request'],
  ['limit in exponent form', 'list', () => apiEvent({ query: { limit: '1e2' } }), 400, 'invalid_request'],
  ['garbage cursor', 'list', () => apiEvent({ query: { cursor: 'not a cursor!' } }), 400, 'invalid_cursor'],
  [
    'forged cursor',
    'list',
    () => apiEvent({ query: { cursor: Buffer.from('{"v":9,"x":1}').toString('base64url') } }),
    400,
    'invalid_cursor',
  ],
  ['unknown status', 'list', () => apiEvent({ query: { status: 'DONE' } }), 400, 'invalid_request'],
  ['bad repo filter', 'list', () => apiEvent({ query: { repo: 'nope' } }), 400, 'invalid_request'],
  ['unknown query parameter', 'list', () => apiEvent({ query: { sort: 'asc' } }), 400, 'invalid_request'],
  ['list without identity', 'list', () => apiEvent({ requester: null }), 401, 'unauthenticated'],
  // get
  ['unknown run', 'get', () => apiEvent({ runId: unknownId }), 404, 'run_not_found'],
  ['malformed run id', 'get', () => apiEvent({ runId: '../../etc/passwd' }), 404, 'run_not_found'],
  ['lower-case run id', 'get', ({ queued }) => apiEvent({ runId: queued.toLowerCase() }), 404, 'run_not_found'],
  ['missing run id', 'get', () => apiEvent({}), 404, 'run_not_found'],
  // events
  ['events of an unknown run', 'events', () => apiEvent({ runId: unknownId }), 404, 'run_not_found'],
  ['events limit 0', 'events', ({ queued }) => apiEvent({ runId: queued, query: { limit: '0' } }), 400, 'invalid_request'],
  ['events limit 501', 'events', ({ queued }) => apiEvent({ runId: queued, query: { limit: '501' } }), 400, 'invalid_request'],
  ['events garbage cursor', 'events', ({ queued }) => apiEvent({ runId: queued, query: { cursor: '%%%' } }), 400, 'invalid_cursor'],
  ['events unknown parameter', 'events', ({ queued }) => apiEvent({ runId: queued, query: { follow: '1' } }), 400, 'invalid_request'],
  // cancel
  ['cancel an unknown run', 'cancel', () => apiEvent({ runId: unknownId }), 404, 'run_not_found'],
  ['cancel a malformed id', 'cancel', () => apiEvent({ runId: 'x;rm -rf /' }), 404, 'run_not_found'],
  ['cancel an ended run', 'cancel', ({ ended }) => apiEvent({ runId: ended }), 409, 'run_ended'],
  ['cancel with options', 'cancel', ({ queued }) => apiEvent({ runId: queued, body: { force: true } }), 400, 'invalid_request'],
  ['cancel with malformed JSON', 'cancel', ({ queued }) => apiEvent({ runId: queued, body: '{' }), 400, 'malformed_json'],
  ['cancel with a huge body', 'cancel', ({ queued }) => apiEvent({ runId: queued, body: ' '.repeat(70_000) }), 413, 'body_too_large'],
  ['cancel without identity', 'cancel', ({ queued }) => apiEvent({ runId: queued, requester: null }), 401, 'unauthenticated'],
];

describe('bad requests get a 4xx with the error envelope and write nothing', () => {
  let api: ApiHarness;
  let handlers: Record<Route, (event: ApiEvent) => Promise<ApiResult>>;
  const ids = { queued: '', ended: '' };
  let before: Record<string, string[]>;

  beforeAll(async () => {
    api = await startApi();
    const deps = () => api.deps;
    handlers = {
      submit: submitRunHandler(deps),
      list: listRunsHandler(deps),
      get: getRunHandler(deps),
      cancel: cancelRunHandler(deps),
      events: getRunEventsHandler(deps),
    };
    ids.queued = bodyOf(await handlers.submit(apiEvent({ body: ok }))).runId;
    ids.ended = bodyOf(await handlers.submit(apiEvent({ body: ok }))).runId;
    await finalizeRun(api.deps, { runId: ids.ended, status: 'FAILED', reason: { code: 'run_failed', message: 'tests broke' } });
    before = await snapshotTables(api.db);
  });
  afterAll(() => api.stop());

  it.each(cases)(
    'Given a bad request (%s), When it is served, Then the answer is its 4xx with the JSON error envelope and a request id',
    async (_name, route, event, status, code) => {
      const result = await handlers[route](event(ids));
      expect(result.statusCode).toBe(status);
      expect(result.headers['x-request-id']).toBeTruthy();
      expect(result.headers['content-type']).toMatch(/^application\/json/);
      const body = bodyOf(result);
      expect(Object.keys(body)).toEqual(['error']);
      expect(typeof body.error.message).toBe('string');
      expect(body.error.message.length).toBeGreaterThan(0);
      if (code) expect(body.error.code).toBe(code);
      if (body.error.details !== undefined) {
        for (const detail of body.error.details) expect(detail).toEqual({ path: expect.any(String), message: expect.any(String) });
      }
    },
  );

  it('Given every bad request above served, Then every table is exactly as it was', async () => {
    expect(await snapshotTables(api.db)).toEqual(before);
  });
});
