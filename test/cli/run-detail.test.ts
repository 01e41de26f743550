import { runDetail } from '../../cli/format';
import { runViewFixture } from '../support/run-view';

describe('nightshift runs <id> detail', () => {
  it('Given a run that resumed without a human, When its detail is shown, Then it says how often, on which capacity and why the last time; a run that never resumed says nothing of it', () => {
    const resumed = runDetail(
      runViewFixture({ automaticResumes: { count: 2, capacityProvider: 'FARGATE', lastCause: 'Spot interruption (SIGTERM)\nat 01:00' } }),
    );
    expect(resumed).toContain('resumed       2 times without a human, now on FARGATE (last: Spot interruption (SIGTERM) at 01:00)');
    expect(
      runDetail(runViewFixture({ automaticResumes: { count: 1, capacityProvider: 'FARGATE_SPOT', lastCause: 'task lost' } })),
    ).toContain('resumed       1 time without a human, now on FARGATE_SPOT');
    expect(runDetail(runViewFixture())).not.toContain('resumed');
  });
});
