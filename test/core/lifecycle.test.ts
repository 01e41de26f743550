import { RunStatus, canTransition, isTerminal, statusesAllowedBefore, terminalStatuses } from '../../core/runs/lifecycle';

describe('run lifecycle', () => {
  it('Given the run statuses, Then a run moves QUEUED → STARTING → RUNNING → (WAITING_FOR_HUMAN → QUEUED → STARTING → RUNNING)* → terminal', () => {
    expect(canTransition('QUEUED', 'STARTING')).toBe(true);
    expect(canTransition('STARTING', 'RUNNING')).toBe(true);
    expect(canTransition('RUNNING', 'WAITING_FOR_HUMAN')).toBe(true);
    expect(canTransition('WAITING_FOR_HUMAN', 'QUEUED')).toBe(true);
    // A paused run never runs again without being re-admitted under the caps.
    expect(canTransition('WAITING_FOR_HUMAN', 'RUNNING')).toBe(false);
    expect(canTransition('WAITING_FOR_HUMAN', 'STARTING')).toBe(false);
    expect(canTransition('RUNNING', 'SUCCEEDED')).toBe(true);
  });

  it('Given a task interrupted or lost after a checkpoint, Then the run may be re-queued without a human: RUNNING or STARTING → QUEUED, never straight to another task', () => {
    expect(canTransition('RUNNING', 'QUEUED')).toBe(true);
    expect(canTransition('STARTING', 'QUEUED')).toBe(true);
    expect(statusesAllowedBefore('QUEUED').sort()).toEqual(['RUNNING', 'STARTING', 'WAITING_FOR_HUMAN']);
    expect(canTransition('RUNNING', 'STARTING')).toBe(false);
  });

  it('Given a terminal status, Then no move leaves it', () => {
    for (const from of terminalStatuses) {
      for (const to of RunStatus.options) expect(canTransition(from, to)).toBe(false);
      expect(isTerminal(from)).toBe(true);
    }
  });

  it('Given a queued run, Then it cannot succeed, run or wait for a human without starting, but it can be cancelled', () => {
    expect(canTransition('QUEUED', 'SUCCEEDED')).toBe(false);
    expect(canTransition('QUEUED', 'RUNNING')).toBe(false);
    expect(canTransition('QUEUED', 'WAITING_FOR_HUMAN')).toBe(false);
    expect(canTransition('QUEUED', 'CANCELLED')).toBe(true);
  });

  it('Given a target status, Then the statuses a move to it may start from are listed, for conditional writes', () => {
    expect(statusesAllowedBefore('STARTING')).toEqual(['QUEUED']);
    expect(statusesAllowedBefore('CANCELLED').sort()).toEqual(['QUEUED', 'RUNNING', 'STARTING', 'WAITING_FOR_HUMAN']);
  });
});
