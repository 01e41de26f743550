import './quiet-powertools';
import { runRoutes } from '../../infra/constructs/api';
import { cancelRunHandler } from '../../lambdas/api/cancel-run';
import { getRunEventsHandler } from '../../lambdas/api/get-run-events';
import { getRunDiffHandler } from '../../lambdas/api/get-run-diff';
import { getRunHandler } from '../../lambdas/api/get-run';
import type { ApiEvent, ApiResult } from '../../lambdas/api/http';
import { listRunsHandler } from '../../lambdas/api/list-runs';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { alice, apiEvent, bodyOf, snapshotTables, startApi, type ApiHarness } from './api-harness';
import { apiFixture, testConfig } from '../support/test-config';
import { freshEachTest } from '../support/fresh-each-test';

/**
 * docs/api.md#authorization, against every route of the API: a caller sees, follows and cancels only its
 * own runs; admins (auth.admins) see and act on all; someone else's run answers exactly like an
 * unknown one (404) and nothing is written; repos[].requesters limits who may submit (403).
 */

const account = '123456789012';
const bobSession = (name: string) => `arn:aws:sts::${account}:assumed-role/dev/${name}`;
const carol = `arn:aws:iam::${account}:user/carol`;
const adminSession = `arn:aws:sts::${account}:assumed-role/PlatformAdmin/oncall`;
const adminUser = `arn:aws:iam::${account}:user/ops/root-cause`;
const unknownRunId = '01J0000000000000000000000Z';

const iamConfig = () =>
  testConfig(apiFixture, {
    repos: [{ name: 'acme/web' }, { name: 'acme/secret', requesters: [`arn:aws:iam::${account}:role/team/dev`] }],
    auth: { type: 'iam', admins: [`arn:aws:iam::${account}:role/platform/PlatformAdmin`, adminUser] },
  });

type Call = (runId: string, requester: string) => Promise<ApiResult>;

/** Every route of the API that names a run, and how to call it as someone. */
function runScopedRoutes(api: ApiHarness): Record<string, Call> {
  const deps = () => api.deps;
  return {
    GetRun: (runId, requester) => getRunHandler(deps)(apiEvent({ runId, requester })),
    GetRunEvents: (runId, requester) => getRunEventsHandler(deps)(apiEvent({ runId, requester })),
    CancelRun: (runId, requester) => cancelRunHandler(deps)(apiEvent({ runId, requester, body: {} })),
    // Its own describe below: the branch facts function is asked only once the caller may see the run.
    GetRunDiff: (runId, requester) =>
      getRunDiffHandler(() => ({
        ...api.deps,
        compareDiff: async () => ({ repository: 'acme/web', base: 'main', diff: '', truncated: false, nightshiftYml: null }),
      }))(apiEvent({ runId, requester })),
  };
}

/** The answer without what differs per request (the request id; the run id the caller itself sent). */
const comparable = (result: ApiResult, runId: string) => ({
  statusCode: result.statusCode,
  body: JSON.parse(result.body.replaceAll(runId, '<runId>')),
});

describe('API authorization (docs/api.md#authorization)', () => {
  const api = freshEachTest(() => startApi(iamConfig()));
  let bobRun: string;
  let aliceRun: string;

  beforeEach(async () => {
    const submit = submitRunHandler(() => api.deps);
    bobRun = bodyOf(await submit(apiEvent({ body: { repo: 'acme/web', prompt: 'bob' }, requester: bobSession('s1') }))).runId;
    aliceRun = bodyOf(await submit(apiEvent({ body: { repo: 'acme/web', prompt: 'alice' }, requester: alice }))).runId;
  });

  it("Given the API's routes, Then every route that names a run is in the authorization table, and the routes are the six known", () => {
    // A new route with {runId} must be added here, so its authorization is tested.
    const named = runRoutes.filter((r) => r.path.includes('{runId}')).map((r) => r.id);
    expect(Object.keys(runScopedRoutes(api)).sort()).toEqual([...named].sort());
    expect(runRoutes.map((r) => r.id).sort()).toEqual(['CancelRun', 'GetRun', 'GetRunDiff', 'GetRunEvents', 'ListRuns', 'SubmitRun']);
  });

  describe('GetRunDiff', () => {
    const DIFF =
      'diff --git a/package-lock.json b/package-lock.json\n--- a/package-lock.json\n+++ b/package-lock.json\n@@ -1 +1 @@\n-{}\n+{"lockfileVersion": 3}\n';
    let asked: [string, string | null, string][];
    const call = (runId: string, requester: string) =>
      getRunDiffHandler(() => ({
        ...api.deps,
        compareDiff: async (repo: string, base: string | null, head: string) => {
          asked.push([repo, base, head]);
          return { repository: repo, base: base ?? 'main', diff: DIFF, truncated: false, nightshiftYml: null };
        },
      }))(apiEvent({ runId, requester }));
    beforeEach(async () => {
      asked = [];
      await api.deps.runs.patch(bobRun, { branch: `nightshift/${bobRun}-x` });
    });

    it("Given bob's run with a branch, When alice or carol asks for its diff, Then the answer is exactly that for an unknown run and GitHub is asked nothing", async () => {
      const unknown = comparable(await call(unknownRunId, alice), unknownRunId);
      expect(unknown).toEqual({ statusCode: 404, body: { error: { code: 'run_not_found', message: expect.any(String) } } });
      expect(comparable(await call(bobRun, alice), bobRun)).toEqual(unknown);
      expect(comparable(await call(bobRun, carol), bobRun)).toEqual(unknown);
      expect(asked).toEqual([]);
    });

    it("Given bob's run with a branch, When its requester from another session or an admin asks for its diff, Then it is the classified diff; When a run has no branch, Then it is no_branch", async () => {
      for (const caller of [bobSession('another-session'), adminUser]) {
        const result = await call(bobRun, caller);
        expect(result.statusCode).toBe(200);
        expect(bodyOf(result)).toEqual({
          runId: bobRun,
          repo: 'acme/web',
          base: 'main',
          head: `nightshift/${bobRun}-x`,
          diff: DIFF,
          truncated: false,
          nightshiftYml: null,
        });
      }
      expect(asked).toEqual([
        ['acme/web', null, `nightshift/${bobRun}-x`],
        ['acme/web', null, `nightshift/${bobRun}-x`],
      ]);
      const none = await call(aliceRun, alice);
      expect(none.statusCode).toBe(404);
      expect(bodyOf(none)).toMatchObject({ error: { code: 'no_branch' } });
    });
  });

  describe.each(['GetRun', 'GetRunEvents', 'CancelRun'])('%s', (route) => {
    const call = (runId: string, requester: string) => runScopedRoutes(api)[route]!(runId, requester);

    it("Given bob's run and an unknown run id, When alice and carol name bob's run, Then they get exactly the 404 of an unknown run, and nothing is written", async () => {
      // Given bob's run, and a run id that does not exist
      const before = await snapshotTables(api.db);
      // When alice and carol name bob's run, and alice names an unknown one
      const unknown = comparable(await call(unknownRunId, alice), unknownRunId);
      const asAlice = comparable(await call(bobRun, alice), bobRun);
      const asCarol = comparable(await call(bobRun, carol), bobRun);
      // Then all are the same 404: whether the run exists is not revealed
      expect(unknown).toEqual({ statusCode: 404, body: { error: { code: 'run_not_found', message: expect.any(String) } } });
      expect(asAlice).toEqual(unknown);
      expect(asCarol).toEqual(unknown);
      // And nothing was written (no cancel request, no event)
      expect(await snapshotTables(api.db)).toEqual(before);
    });

    it("Given bob's run, When its requester calls from another session of its role, Then the run is answered", async () => {
      const result = await call(bobRun, bobSession('another-session'));
      expect(result.statusCode).toBe(route === 'CancelRun' ? 202 : 200);
      expect(bodyOf(result).runId).toBe(bobRun);
    });

    it.each([
      ['a session of an admin role (matched by role, not session)', adminSession],
      ['an admin IAM user', adminUser],
    ])("Given bob's run, When %s calls, Then the run is answered", async (_what, admin) => {
      const result = await call(bobRun, admin);
      expect(result.statusCode).toBe(route === 'CancelRun' ? 202 : 200);
      expect(bodyOf(result).runId).toBe(bobRun);
    });

    it("Given a role that is not an admin's, When a session of it is named like an admin user or role, Then it is not taken for an admin (404)", async () => {
      // A session named like an admin user or role, of a role that is not an admin's
      for (const impostor of [
        `arn:aws:sts::${account}:assumed-role/dev/PlatformAdmin`,
        `arn:aws:sts::${account}:assumed-role/dev/root-cause`,
      ]) {
        expect((await call(aliceRun, impostor)).statusCode).toBe(404);
      }
    });
  });

  describe('ListRuns', () => {
    const list = (requester: string, query: Record<string, string> = {}) => listRunsHandler(() => api.deps)(apiEvent({ requester, query }));
    const ids = async (requester: string, query: Record<string, string> = {}) => {
      const result = await list(requester, query);
      expect(result.statusCode).toBe(200);
      return (bodyOf(result).runs as { runId: string }[]).map((r) => r.runId);
    };

    it("Given runs of several requesters, When a caller lists runs with any filters, Then only the caller's own runs come back", async () => {
      expect(await ids(alice)).toEqual([aliceRun]);
      expect(await ids(bobSession('s2'))).toEqual([bobRun]);
      expect(await ids(alice, { repo: 'acme/web' })).toEqual([aliceRun]);
      expect(await ids(alice, { status: 'QUEUED' })).toEqual([aliceRun]);
      expect(await ids(carol)).toEqual([]);
    });

    it("Given bob's runs, When alice asks for them, Then the list is empty", async () => {
      const result = await list(alice, { requester: bobSession('s1') });
      expect(bodyOf(result)).toEqual({ runs: [], nextCursor: null });
    });

    it('Given an admin, When they list runs, Then every run comes back, and filtered by requester on request', async () => {
      expect(await ids(adminSession)).toEqual([aliceRun, bobRun]);
      expect(await ids(adminUser, { requester: bobSession('x') })).toEqual([bobRun]);
    });

    it("Given an admin's cursor, When someone else replays it, Then it is refused as invalid_cursor (it cannot page into other requesters' runs)", async () => {
      const first = bodyOf(await list(adminSession, { limit: '1' }));
      expect(first.nextCursor).toEqual(expect.any(String));
      const replayed = await list(alice, { limit: '1', cursor: first.nextCursor });
      expect(replayed.statusCode).toBe(400);
      expect(bodyOf(replayed).error.code).toBe('invalid_cursor');
    });
  });

  describe('SubmitRun with repos[].requesters', () => {
    const submit = (requester: string, repo: string, headers: Record<string, string> = {}) =>
      submitRunHandler(() => api.deps)(apiEvent({ body: { repo, prompt: 'p' }, requester, headers }));

    it('Given a repo with listed requesters, When a session of a listed role submits, Then the run is accepted', async () => {
      expect((await submit(bobSession('s3'), 'acme/secret')).statusCode).toBe(202);
    });

    it.each([
      ['an unlisted IAM user', alice],
      ['an admin that is not listed', adminSession],
      ['a session named like the listed role, of another role', `arn:aws:sts::${account}:assumed-role/ops/dev`],
    ])(
      'Given a repo with listed requesters, When %s submits, with or without an Idempotency-Key, Then it is refused with 403 and nothing is written',
      async (_what, requester) => {
        const before = await snapshotTables(api.db);
        for (const headers of [{}, { 'idempotency-key': 'k-1' }] as Record<string, string>[]) {
          const result = await submit(requester, 'acme/secret', headers);
          expect(result.statusCode).toBe(403);
          expect(bodyOf(result).error.code).toBe('requester_not_allowed');
        }
        expect(await snapshotTables(api.db)).toEqual(before);
      },
    );

    it('Given a repo with listed requesters, When an unlisted caller names it in another case, Then it is refused, as the allowlist matches case-insensitively', async () => {
      expect((await submit(alice, 'ACME/Secret')).statusCode).toBe(403);
    });

    it('Given a repo without requesters, When any caller submits, Then the run is accepted', async () => {
      expect((await submit(carol, 'acme/web')).statusCode).toBe(202);
    });
  });
});

describe('API authorization with JWT auth', () => {
  const api = freshEachTest(() =>
    startApi(
      testConfig(apiFixture, {
        repos: [{ name: 'acme/web' }, { name: 'acme/secret', requesters: ['group:secret-team', 'jwt:u-carol'] }],
        auth: {
          type: 'jwt',
          issuer: 'https://id.example.com',
          audience: ['nightshift'],
          admins: ['group:nightshift-admins'],
          groupsClaim: 'cognito:groups',
        },
      }),
    ),
  );
  let runId: string;

  const jwtEvent = (claims: Record<string, unknown>, init: Partial<ApiEvent> = {}): ApiEvent => ({
    headers: { 'content-type': 'application/json' },
    ...init,
    requestContext: { requestId: `req-${Math.random().toString(36).slice(2)}`, authorizer: { jwt: { claims } } },
  });

  beforeEach(async () => {
    const submitted = await submitRunHandler(() => api.deps)(
      jwtEvent({ sub: 'u-bob' }, { body: JSON.stringify({ repo: 'acme/web', prompt: 'p' }) }),
    );
    runId = bodyOf(submitted).runId;
  });

  const getAs = (claims: Record<string, unknown>) => getRunHandler(() => api.deps)(jwtEvent(claims, { pathParameters: { runId } }));

  it.each([
    ['as API Gateway passes an array claim', '[devs nightshift-admins]'],
    ['as a real array', ['devs', 'nightshift-admins']],
    ['comma separated', 'devs,nightshift-admins'],
  ])("Given a member of an admin group (groups %s), When they ask for another subject's run, Then it is shown", async (_how, groups) => {
    expect((await getAs({ sub: 'u-alice', 'cognito:groups': groups })).statusCode).toBe(200);
  });

  it("Given bob's run, When another subject, a group under another claim or a look-alike group name asks for it, Then it is hidden (404); When bob asks, Then it is shown", async () => {
    for (const claims of [
      { sub: 'u-alice' },
      { sub: 'u-alice', groups: '[nightshift-admins]' },
      { sub: 'u-alice', 'cognito:groups': '[nightshift-admins-old]' },
      { sub: 'u-alice', 'cognito:groups': 'nightshift-admins devs' },
    ]) {
      expect((await getAs(claims)).statusCode).toBe(404);
    }
    expect((await getAs({ sub: 'u-bob' })).statusCode).toBe(200);
  });

  it('Given a repo listing a group and a subject, When its members, the subject and an unlisted admin submit, Then only the listed ones are accepted', async () => {
    const submit = (claims: Record<string, unknown>) =>
      submitRunHandler(() => api.deps)(jwtEvent(claims, { body: JSON.stringify({ repo: 'acme/secret', prompt: 'p' }) }));
    expect((await submit({ sub: 'u-dave', 'cognito:groups': '[secret-team]' })).statusCode).toBe(202);
    expect((await submit({ sub: 'u-carol' })).statusCode).toBe(202);
    expect((await submit({ sub: 'u-erin', 'cognito:groups': '[nightshift-admins]' })).statusCode).toBe(403);
  });
});
