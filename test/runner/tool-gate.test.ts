import { PLAN_ALREADY_APPROVED, PLAN_PENDING } from '../../core/inbox/plan-approval';
import { RISKY_ACTION_PENDING } from '../../core/inbox/risky-action';
import { gateToolCall, type ToolGateRules } from '../../runner/session/tool-gate';

const approvalRequired = { paths: ['db/**'], commands: ['npm publish*'] };
const planPhase: ToolGateRules = { planRun: true, planPhase: true, approvalRequired };
const approved: ToolGateRules = { planRun: true, planPhase: false, approvalRequired };
const plain: ToolGateRules = { planRun: false, planPhase: false, approvalRequired };

describe('the tool gate: what happens to a tool call before it runs', () => {
  it.each(['write_file', 'edit_file', 'finish'])(
    'Given the plan phase, When the agent calls %s, Then it is refused with what to do instead',
    (name) => {
      expect(gateToolCall(planPhase, name, { path: 'src/a.ts', content: '' })).toEqual({
        kind: 'refuse',
        text: expect.stringMatching(/propose_plan/),
      });
    },
  );

  it('Given the plan phase, When the agent reads or runs a harmless command, Then it runs', () => {
    expect(gateToolCall(planPhase, 'read_file', { path: 'src/a.ts' })).toEqual({ kind: 'run' });
    expect(gateToolCall(planPhase, 'shell', { command: 'npm test' })).toEqual({ kind: 'run' });
  });

  it('Given the plan phase, When the agent proposes a plan, Then the run pauses for plan_approval with the plan', () => {
    expect(gateToolCall(planPhase, 'propose_plan', { plan: 'do X' })).toEqual({
      kind: 'pause',
      pause: { reason: 'plan_approval', message: expect.stringContaining('do X'), details: { plan: 'do X' } },
      result: PLAN_PENDING,
    });
    expect(gateToolCall(planPhase, 'propose_plan', { plan: '' })).toMatchObject({
      kind: 'refuse',
      text: expect.stringContaining('invalid input for propose_plan'),
    });
  });

  it('Given an approved plan, When the agent proposes again or edits, Then the proposal is refused and the edit runs', () => {
    expect(gateToolCall(approved, 'propose_plan', { plan: 'again' })).toEqual({ kind: 'refuse', text: PLAN_ALREADY_APPROVED });
    expect(gateToolCall(approved, 'edit_file', { path: 'src/a.ts', oldText: 'a', newText: 'b' })).toEqual({ kind: 'run' });
  });

  it('Given a run without a plan, When the agent calls propose_plan, Then the executor answers it as an unknown tool', () => {
    expect(gateToolCall(plain, 'propose_plan', { plan: 'x' })).toEqual({ kind: 'run' });
  });

  it('Given approvalRequired, When a call matches (in any phase), Then the run pauses before it runs', () => {
    for (const rules of [plain, planPhase]) {
      expect(gateToolCall(rules, 'shell', { command: 'npm publish' })).toMatchObject({
        kind: 'pause',
        pause: { reason: 'risky_action', details: { tool: 'shell', command: 'npm publish' } },
        result: RISKY_ACTION_PENDING,
      });
    }
    expect(gateToolCall(plain, 'write_file', { path: 'db/schema.sql', content: '' })).toMatchObject({
      kind: 'pause',
      pause: { reason: 'risky_action', details: { tool: 'write_file', path: 'db/schema.sql', pattern: 'db/**' } },
    });
    // In the plan phase a write is refused before any approval is asked for.
    expect(gateToolCall(planPhase, 'write_file', { path: 'db/schema.sql', content: '' })).toMatchObject({ kind: 'refuse' });
  });
});
