import { howToResolve, inboxTable, pauseNotice, pauseNoticeText } from '../../cli/commands/inbox';
import type { InboxItemView } from '../../core/inbox/inbox-item';
import type { RunEvent } from '../../core/runs/schemas';

const itemId = '01JDXKQ1Z8C9V5W3T2R4M6N8P0';
const runId = '01JDXKPZZ8C9V5W3T2R4M6N8P0';

function item(overrides: Partial<InboxItemView> = {}): InboxItemView {
  return {
    itemId,
    type: 'question',
    state: 'open',
    runId,
    repo: 'acme/web',
    requester: 'local:dev',
    createdAt: '2026-12-02T10:00:00.123Z',
    resolvedAt: null,
    resolvedBy: null,
    message: 'Which timezone?',
    details: {},
    resolution: null,
    ...overrides,
  };
}

describe('the CLI inbox', () => {
  it('Given each item type, When it says how to resolve it, Then it names the command that type takes', () => {
    expect(howToResolve({ itemId, type: 'question' })).toBe(`nightshift answer ${itemId} "<your answer>"`);
    expect(howToResolve({ itemId, type: 'stuck' })).toBe(`nightshift answer ${itemId} "<your answer>"`);
    expect(howToResolve({ itemId, type: 'budget_approval' })).toBe(
      `nightshift approve ${itemId} [--extra-budget <usd>]   or   nightshift reject ${itemId}`,
    );
    expect(howToResolve({ itemId, type: 'plan_approval' })).toContain('--plan');
    expect(howToResolve({ itemId, type: 'risky_action' })).toBe(`nightshift approve ${itemId}   or   nightshift reject ${itemId}`);
    expect(howToResolve({ itemId, type: 'pr_ready' })).toContain('dismiss');
  });

  it('Given an agent-written message with terminal control sequences, When the inbox is printed, Then it is one line of text and only open items get a hint', () => {
    const table = inboxTable([
      item({ message: 'hi\u001b[2J\nthere\u0007' }),
      item({ itemId: '01JDXKQ1Z8C9V5W3T2R4M6N8P1', state: 'resolved' }),
    ]);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters that must not be printed
    expect(table).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(table.split('\n')[1]).toMatch(/question\s+open\s+acme\/web\s+01JDXKPZ.*2026-12-02T10:00:00Z\s+hi \[2J there$/);
    expect(table.match(/nightshift answer/g)).toHaveLength(1);
    expect(inboxTable([])).toBe('nothing in the inbox');
  });

  it('Given a run timeline, When a status event records a pause, Then the notice names the item, what it asks and how to answer; other events give none', () => {
    const event = (overrides: Partial<RunEvent>): RunEvent => ({
      runId,
      seq: '01JDXKQ1Z8C9V5W3T2R4M6N8P9',
      at: '2026-12-02T10:00:00Z',
      type: 'status',
      message: 'RUNNING → WAITING_FOR_HUMAN: question: Which timezone?',
      detail: { from: 'RUNNING', to: 'WAITING_FOR_HUMAN', itemId, reason: 'question' },
      ...overrides,
    });
    const notice = pauseNotice(event({}));
    expect(notice).toEqual({
      itemId,
      type: 'question',
      message: 'Which timezone?',
      resolveWith: `nightshift answer ${itemId} "<your answer>"`,
    });
    expect(pauseNoticeText(notice!)).toMatch(/^paused for a human \(question\): Which timezone\?\n {2}resolve it: nightshift answer /);
    expect(pauseNotice(event({ detail: { from: 'QUEUED', to: 'STARTING' } }))).toBeUndefined();
    expect(pauseNotice(event({ type: 'note' }))).toBeUndefined();
    expect(pauseNotice(event({ detail: { to: 'WAITING_FOR_HUMAN', itemId, reason: 'not-a-type' } }))).toBeUndefined();
  });
});
