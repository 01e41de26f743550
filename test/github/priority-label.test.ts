import { priorityOfLabels } from '../../core/github/priority-label';
import { examplePayload, startWebhookHarness } from './webhook-harness';
import { freshEachTest } from '../support/fresh-each-test';

const h = freshEachTest(startWebhookHarness);

describe("a run's priority from its issue's labels", () => {
  it('Given labels beside the trigger label, When the priority is read, Then <triggerLabel>:high and :low count, high winning, case-insensitively', () => {
    expect(priorityOfLabels(['nightshift', 'Nightshift:High'], 'nightshift')).toBe('high');
    expect(priorityOfLabels(['nightshift:low', 'nightshift:high'], 'nightshift')).toBe('high');
    expect(priorityOfLabels(['nightshift:low'], 'nightshift')).toBe('low');
    expect(priorityOfLabels(['bug', 'high'], 'nightshift')).toBeUndefined();
  });

  it('Given an issue labeled nightshift that also carries nightshift:high, When the label event arrives, Then its run is queued with priority high', async () => {
    const labeled = await h.deliver(
      'issues',
      examplePayload('issues', 'labeled', (p) => {
        p.label.name = 'nightshift';
        p.issue.labels = [{ name: 'bug' }, { name: 'nightshift:high' }, { name: 'nightshift' }];
      }),
    );
    const run = await h.db.store.runs.get(labeled.body.runId as string);
    expect(run?.priority).toBe('high');
  });

  it('Given an issue with no priority label, When the label event arrives, Then its run is normal (stored implicitly)', async () => {
    const labeled = await h.deliver(
      'issues',
      examplePayload('issues', 'labeled', (p) => (p.label.name = 'nightshift')),
    );
    const run = await h.db.store.runs.get(labeled.body.runId as string);
    expect(run?.priority).toBeUndefined();
  });
});
