import { decideResolution, ResolveInboxRequest, type InboxItemView } from '../../core/inbox/inbox-item';
import { budgetApprovalRequest, budgetApprovedNote, resumeText } from '../../core/inbox/budget-approval';
import { pausedRunHoldings } from '../../core/inbox/paused-run';

type Item = Pick<InboxItemView, 'type' | 'state' | 'resolution'>;
const openQuestion: Item = { type: 'question', state: 'open', resolution: null };
const answered: Item = { type: 'question', state: 'resolved', resolution: { action: 'answer', answer: 'UTC' } };

describe('inbox item resolution rules', () => {
  it('Given an open question, When it is answered, Then the answer resolves it', () => {
    expect(decideResolution(openQuestion, { action: 'answer', answer: 'UTC' })).toEqual({
      kind: 'resolve',
      resolution: { action: 'answer', answer: 'UTC' },
    });
  });

  it('Given an answered question, When the same answer comes again, Then nothing changes (200 with the item)', () => {
    expect(decideResolution(answered, { action: 'answer', answer: 'UTC' })).toEqual({ kind: 'same' });
  });

  it('Given an answered question, When another answer comes, Then it is a conflict (409)', () => {
    expect(decideResolution(answered, { action: 'answer', answer: 'local time' })).toMatchObject({
      kind: 'conflict',
      reason: expect.stringContaining('"answer"'),
    });
  });

  it('Given a question nobody answered in time, When an answer comes, Then it is a conflict naming why', () => {
    const expired: Item = { type: 'question', state: 'resolved', resolution: { action: 'expired', answer: null } };
    expect(decideResolution(expired, { action: 'answer', answer: 'UTC' })).toEqual({
      kind: 'conflict',
      reason: 'the item was not answered in time',
    });
  });

  it.each([
    ['approve on a question', openQuestion, { action: 'approve' } as const, 'accepts "answer"'],
    ['answer without text', openQuestion, { action: 'answer' } as const, 'needs an answer'],
    ['a plan with a question', openQuestion, { action: 'answer', answer: 'x', plan: 'p' } as const, 'edited plan'],
    ['extra budget with a question', openQuestion, { action: 'answer', answer: 'x', extraBudgetUsd: 1 } as const, 'extraBudgetUsd'],
    [
      'an answer with approve',
      { type: 'plan_approval', state: 'open', resolution: null } as Item,
      { action: 'approve', answer: 'x' } as const,
      'takes no answer',
    ],
  ])('Given %s, Then it is refused (400) even on an already resolved item', (_name, item, request, reason) => {
    expect(decideResolution(item, request)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining(reason) });
    expect(decideResolution({ ...item, state: 'resolved', resolution: { action: 'answer', answer: 'UTC' } }, request)).toMatchObject({
      kind: 'invalid',
    });
  });

  it('Given hostile request bodies, When they are parsed, Then they are refused before any rule runs', () => {
    expect(ResolveInboxRequest.safeParse({ action: 'answer', answer: '   ' }).success).toBe(false);
    expect(ResolveInboxRequest.safeParse({ action: 'answer', answer: 'x'.repeat(8_001) }).success).toBe(false);
    expect(ResolveInboxRequest.safeParse({ action: 'answer', answer: 'ok', token: 'steal' }).success).toBe(false);
    expect(ResolveInboxRequest.safeParse({ action: 'delete' }).success).toBe(false);
  });
});

describe('what a paused run holds', () => {
  it('Given a run that spent part of its budget, When it pauses, Then it holds no slot and no task, and keeps the unspent part reserved', () => {
    expect(pausedRunHoldings({ budgetMicros: 5_000_000, spentMicros: 1_250_000 })).toEqual({
      slots: 0,
      computeTasks: 0,
      reservedMicros: 3_750_000,
      spentMicros: 1_250_000,
    });
  });

  it('Given a run that overspent (a late call settled above its reservation), Then it reserves nothing more', () => {
    expect(pausedRunHoldings({ budgetMicros: 1_000, spentMicros: 1_200 })).toMatchObject({ reservedMicros: 0, spentMicros: 1_200 });
  });
});

describe('budget_approval', () => {
  const openBudget: Item = { type: 'budget_approval', state: 'open', resolution: null };
  it('Given an open budget_approval, When it is approved, Then it needs an amount, and the amount is part of the resolution', () => {
    expect(decideResolution(openBudget, { action: 'approve' })).toMatchObject({ kind: 'invalid' });
    expect(decideResolution(openBudget, { action: 'answer', answer: 'more' })).toMatchObject({ kind: 'invalid' });
    expect(decideResolution(openBudget, { action: 'approve', extraBudgetUsd: 2 })).toEqual({
      kind: 'resolve',
      resolution: { action: 'approve', answer: null, extraBudgetUsd: 2 },
    });
    expect(decideResolution(openBudget, { action: 'reject' })).toEqual({ kind: 'resolve', resolution: { action: 'reject', answer: null } });
  });

  it('Given an approved budget_approval, When the same amount comes again, Then nothing changes; When another amount or a reject comes, Then it is a conflict', () => {
    const approved: Item = {
      type: 'budget_approval',
      state: 'resolved',
      resolution: { action: 'approve', answer: null, extraBudgetUsd: 2 },
    };
    expect(decideResolution(approved, { action: 'approve', extraBudgetUsd: 2 })).toEqual({ kind: 'same' });
    expect(decideResolution(approved, { action: 'approve', extraBudgetUsd: 3 })).toMatchObject({ kind: 'conflict' });
    expect(decideResolution(approved, { action: 'reject' })).toMatchObject({ kind: 'conflict' });
  });

  it('Given the ledger numbers at the refusal, Then the item says what was spent and what the next call needs; the resumed run is told the new budget', () => {
    const asked = budgetApprovalRequest({ budgetMicros: 2_000_000, spentMicros: 1_990_000 }, 45_000);
    expect(asked.message).toMatch(/^The run has spent \$1\.99 of its \$2\.00 budget and its next model call may cost up to \$0\.05\./);
    expect(asked.details).toEqual({ budgetUsd: 2, spentUsd: 1.99, nextCallUsd: 0.045 });
    expect(resumeText('budget_approval', budgetApprovedNote(1.5, 3_500_000))).toBe(
      "The requester approved $1.50 more budget (the run's budget is now $3.50). Go on with the task.",
    );
    expect(resumeText('question', 'UTC')).toBe('A human answered your question:\nUTC');
  });

  it('Given a run paused because its budget ran out, Then it holds no slot, no task, and nothing more of the days than it spent', () => {
    expect(pausedRunHoldings({ budgetMicros: 2_000_000, spentMicros: 2_000_000 })).toEqual({
      slots: 0,
      computeTasks: 0,
      reservedMicros: 0,
      spentMicros: 2_000_000,
    });
  });
});
