import './quiet-powertools';
import { requesterIdentity } from '../../core/runs/requester';
import { listRunsHandler } from '../../lambdas/api/list-runs';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { apiEvent, bodyOf, startApi } from './api-harness';
import { freshEachTest } from '../support/fresh-each-test';

const session = (name: string) => `arn:aws:sts::123456789012:assumed-role/ci-deployer/${name}`;

describe('the requester of an assumed role', () => {
  const api = freshEachTest(startApi);

  it("Given a 10 USD daily requester budget, When one role submits three 5 USD runs from freshly named sessions, Then the third is refused: the requester is the role, and another session of it lists the role's runs", async () => {
    // Given a per-requester daily budget of 10 USD and runs of 5 USD
    const submit = submitRunHandler(() => api.deps);
    const asSession = (name: string) =>
      submit(apiEvent({ body: { repo: 'acme/api', prompt: 'p', budgetUsd: 5 }, requester: session(name) }));
    // When one role submits three runs, each from a freshly named session
    const results = [await asSession('s1'), await asSession('s2'), await asSession('s3')];
    // Then the third is refused: the three sessions share one requester budget
    expect(results.map((r) => r.statusCode)).toEqual([202, 202, 429]);
    const run = await api.deps.runs.get(bodyOf(results[0]!).runId as string);
    expect(run?.requester).toBe('arn:aws:sts::123456789012:assumed-role/ci-deployer');
    // And listing by any session of the role, as another session of it, finds the role's runs
    const listed = await listRunsHandler(() => api.deps)(apiEvent({ query: { requester: session('other') }, requester: session('s4') }));
    expect(bodyOf(listed).runs).toHaveLength(2);
  });

  it('Given caller ARNs, When the requester identity is taken, Then only assumed-role session ARNs lose their session name; users and JWT subjects stay as they are', () => {
    expect(requesterIdentity('arn:aws:sts::123456789012:assumed-role/dev/bob')).toBe('arn:aws:sts::123456789012:assumed-role/dev');
    expect(requesterIdentity('arn:aws-us-gov:sts::123456789012:assumed-role/a.b+c=d@e-f_g/x@y.z')).toBe(
      'arn:aws-us-gov:sts::123456789012:assumed-role/a.b+c=d@e-f_g',
    );
    expect(requesterIdentity('arn:aws:iam::123456789012:user/alice')).toBe('arn:aws:iam::123456789012:user/alice');
    expect(requesterIdentity('jwt:abc')).toBe('jwt:abc');
  });
});
