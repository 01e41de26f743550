import { examplePayload, type WebhookHarness } from '../github/webhook-harness';

/**
 * A run started as a person starts one on GitHub, GitHub's issues.labeled example with the label
 * `nightshift` delivered through the receiver, then taken to RUNNING as its runner would: its id.
 */
export async function runningLabeledIssueRun(h: WebhookHarness): Promise<string> {
  const labeled = await h.deliver(
    'issues',
    examplePayload('issues', 'labeled', (p) => (p.label.name = 'nightshift')),
  );
  const runId = labeled.body.runId as string;
  await h.db.store.runs.transition(runId, 'STARTING');
  await h.db.store.runs.transition(runId, 'RUNNING', { startedAt: new Date().toISOString() });
  return runId;
}
