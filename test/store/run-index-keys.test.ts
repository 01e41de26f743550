import { listPartitionValue, runIndexKeys, statusIndexKeys } from '../../core/store/run-index-keys';

describe('the list indexes derived keys', () => {
  it('Given a run, Then its keys combine requester, repo and status in that order', () => {
    expect(runIndexKeys({ requester: 'alice', repo: 'acme/widgets', status: 'RUNNING' })).toEqual({
      repoStatus: 'acme/widgets#RUNNING',
      requesterStatus: 'alice#RUNNING',
      requesterRepo: 'alice#acme/widgets',
      requesterRepoStatus: 'alice#acme/widgets#RUNNING',
    });
  });

  it('Given the same filters, Then the keys are the partition values the list queries for', () => {
    const run = { requester: 'arn:aws:sts::1:assumed-role/dev/x', repo: 'acme/widgets', status: 'QUEUED' as const };
    const keys = runIndexKeys(run);
    expect(listPartitionValue({ repo: run.repo, status: run.status })).toBe(keys.repoStatus);
    expect(listPartitionValue({ requester: run.requester, status: run.status })).toBe(keys.requesterStatus);
    expect(listPartitionValue({ requester: run.requester, repo: run.repo })).toBe(keys.requesterRepo);
    expect(listPartitionValue(run)).toBe(keys.requesterRepoStatus);
  });

  it('Given parts holding `#` or `%`, Then two different combinations never get the same key', () => {
    const a = runIndexKeys({ requester: 'a#b', repo: 'c/d', status: 'QUEUED' });
    const b = runIndexKeys({ requester: 'a', repo: 'b#c/d', status: 'QUEUED' });
    const c = runIndexKeys({ requester: 'a%23b', repo: 'c/d', status: 'QUEUED' });
    expect(a.requesterRepoStatus).not.toBe(b.requesterRepoStatus);
    expect(a.requesterRepoStatus).not.toBe(c.requesterRepoStatus);
    expect(a.requesterRepo).toBe('a%23b#c/d');
    expect(c.requesterRepo).toBe('a%2523b#c/d');
  });

  it('Given a status change, Then it rewrites every key but the one without the status', () => {
    expect(Object.keys(statusIndexKeys({ requester: 'a', repo: 'r/x', status: 'FAILED' })).sort()).toEqual([
      'repoStatus',
      'requesterRepoStatus',
      'requesterStatus',
    ]);
  });
});
