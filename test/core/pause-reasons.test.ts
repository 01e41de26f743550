import { decideResolution, type InboxItemView } from '../../core/inbox/inbox-item';
import { BUDGET_DECLINED_ERROR, PLAN_REJECTED_ERROR, pauseResolutionEffect } from '../../core/inbox/pause-resolution';
import { planApprovalRequest, planApprovedNote, planPhaseRefusal } from '../../core/inbox/plan-approval';
import {
  ApprovalRequired,
  commandSegments,
  RISKY_ACTION_APPROVED,
  riskyActionOf,
  riskyActionRefusal,
  riskyActionRequest,
} from '../../core/inbox/risky-action';

const rules: ApprovalRequired = {
  paths: ['migrations/**', 'package.json', 'infra/*.tf'],
  commands: ['npm publish*', 'git push*', 'terraform apply', 'rm -rf *'],
};

describe('risky_action: which tool calls .nightshift.yml approvalRequired holds back', () => {
  it.each([
    ['npm publish', 'npm publish*'],
    ['npm publish --tag beta', 'npm publish*'],
    ['cd pkg && npm   publish', 'npm publish*'],
    ['npm test; git push origin HEAD', 'git push*'],
    ['CI=1 NODE_ENV=production npm publish', 'npm publish*'],
    ['echo $(terraform apply)', 'terraform apply'],
    ['make build\nrm -rf dist', 'rm -rf *'],
    ['npm test | tee out.txt || git push', 'git push*'],
  ])('Given the shell command %j, Then it waits for approval under pattern %j', (command, pattern) => {
    expect(riskyActionOf(rules, 'shell', { command })).toEqual({ tool: 'shell', command, pattern });
  });

  it.each([['npm test'], ['echo npm publish is a command'], ['terraform apply -auto-approve'], ['git status'], ['npm pack']])(
    'Given the shell command %j, Then it runs without approval',
    (command) => {
      // Patterns match a whole simple command ("terraform apply" is exactly that command; a trailing * allows arguments).
      expect(riskyActionOf(rules, 'shell', { command })).toBeUndefined();
    },
  );

  it.each([
    ['write_file', 'migrations/001_init.sql', 'migrations/**'],
    ['edit_file', './package.json', 'package.json'],
    ['edit_file', 'infra/main.tf', 'infra/*.tf'],
    ['write_file', 'Migrations/deep/x.sql', 'migrations/**'],
  ] as const)('Given %s of %s, Then it waits for approval under glob %s', (tool, path, pattern) => {
    expect(riskyActionOf(rules, tool, { path, content: '' })).toEqual({ tool, path: path.replace(/^\.\//, ''), pattern });
  });

  it('Given reads, other paths, other tools or no rules, Then nothing waits', () => {
    expect(riskyActionOf(rules, 'read_file', { path: 'package.json' })).toBeUndefined();
    expect(riskyActionOf(rules, 'edit_file', { path: 'src/package.json' })).toBeUndefined();
    expect(riskyActionOf(rules, 'write_file', { path: 'infra/modules/a.tf' })).toBeUndefined();
    expect(riskyActionOf(undefined, 'shell', { command: 'npm publish' })).toBeUndefined();
    expect(riskyActionOf(rules, 'shell', 'npm publish')).toBeUndefined();
    expect(riskyActionOf({ paths: ['**'] }, 'shell', { command: 'npm publish' })).toBeUndefined();
  });

  it('Given a shell line, When it is split, Then its simple commands come out', () => {
    expect(commandSegments('A=1 make   a && (cd x; `date`) | wc -l &')).toEqual(['make a', 'cd x', 'date', 'wc -l']);
  });

  it('Given a bad approvalRequired, When it is parsed, Then it is refused', () => {
    expect(ApprovalRequired.safeParse({ commands: [''] }).success).toBe(false);
    expect(ApprovalRequired.safeParse({ command: ['x'] }).success).toBe(false);
  });

  it('Given a risky action, When its request is made, Then it says what waits, with the rule it matched; long commands are cut', () => {
    expect(riskyActionRequest({ tool: 'edit_file', path: 'package.json', pattern: 'package.json' })).toEqual({
      message: expect.stringContaining('change package.json (edit_file)'),
      details: { tool: 'edit_file', path: 'package.json', pattern: 'package.json' },
    });
    const long = `npm publish ${'x'.repeat(3_000)}`;
    const asked = riskyActionRequest({ tool: 'shell', command: long, pattern: 'npm publish*' });
    expect(asked.details.command!.length).toBe(2_001);
    expect(asked.message).toContain('pattern "npm publish*"');
  });
});

describe('plan_approval', () => {
  it('Given a proposed plan, When its approval request is made, Then the plan is in the details and its first line in the message', () => {
    expect(planApprovalRequest('\n# Fix slugify\n1. collapse dashes')).toEqual({
      message: 'The agent proposes a plan and waits for approval before changing anything: # Fix slugify',
      details: { plan: '\n# Fix slugify\n1. collapse dashes' },
    });
  });

  it('Given an approved plan, When the agent is told, Then the note carries the plan, saying when it was edited', () => {
    expect(planApprovedNote('do B', true)).toMatch(
      /^The requester approved your plan with edits\. Follow this plan, as edited;[\s\S]*\n\ndo B$/,
    );
    expect(planApprovedNote('do A', false)).toMatch(/^The requester approved your plan\. Follow it;[\s\S]*\n\ndo A$/);
  });

  it('Given the plan phase, When the agent writes or finishes, Then the refusal teaches it to call propose_plan instead', () => {
    expect(planPhaseRefusal('edit_file')).toContain('call propose_plan');
    expect(planPhaseRefusal('finish')).toContain('Call propose_plan');
  });

  const planItem = (state: 'open' | 'resolved', resolution: InboxItemView['resolution'] = null) => ({
    type: 'plan_approval' as const,
    state,
    resolution,
  });

  it('Given an approval with an edited plan, Then the resolution keeps the plan; the same again is 200, another plan 409', () => {
    expect(decideResolution(planItem('open'), { action: 'approve', plan: 'B' })).toEqual({
      kind: 'resolve',
      resolution: { action: 'approve', answer: null, plan: 'B' },
    });
    const resolved = planItem('resolved', { action: 'approve', answer: null, plan: 'B' });
    expect(decideResolution(resolved, { action: 'approve', plan: 'B' })).toEqual({ kind: 'same' });
    expect(decideResolution(resolved, { action: 'approve', plan: 'C' })).toMatchObject({ kind: 'conflict' });
    expect(decideResolution(resolved, { action: 'approve' })).toMatchObject({ kind: 'conflict' });
  });
});

describe('what a resolution does to a paused run', () => {
  const details = { plan: 'A' };
  it('Given a paused plan_approval, When it is resolved, Then approve resumes with the proposed plan, or the edited one, and reject ends the run', () => {
    expect(pauseResolutionEffect({ type: 'plan_approval', details }, { action: 'approve', answer: null }, 'u')).toEqual({
      kind: 'resume',
      answer: planApprovedNote('A', false),
    });
    expect(pauseResolutionEffect({ type: 'plan_approval', details }, { action: 'approve', answer: null, plan: 'A' }, 'u')).toEqual({
      kind: 'resume',
      answer: planApprovedNote('A', false),
    });
    expect(pauseResolutionEffect({ type: 'plan_approval', details }, { action: 'approve', answer: null, plan: 'B' }, 'u')).toEqual({
      kind: 'resume',
      answer: planApprovedNote('B', true),
    });
    expect(pauseResolutionEffect({ type: 'plan_approval', details }, { action: 'reject', answer: null }, 'u')).toMatchObject({
      kind: 'end',
      error: PLAN_REJECTED_ERROR,
    });
  });

  it('Given a paused risky_action, When it is resolved, Then approve and reject both resume; a reject carries the refusal naming who rejected', () => {
    expect(pauseResolutionEffect({ type: 'risky_action', details: {} }, { action: 'approve', answer: null }, 'u')).toEqual({
      kind: 'resume',
      answer: RISKY_ACTION_APPROVED,
    });
    expect(pauseResolutionEffect({ type: 'risky_action', details: {} }, { action: 'reject', answer: null }, 'alice')).toEqual({
      kind: 'resume',
      answer: riskyActionRefusal('alice'),
    });
    expect(riskyActionRefusal('alice')).toMatch(/^refused: alice rejected this tool call/);
  });

  it('Given a paused budget_approval or question, When it is resolved, Then approve extends the budget, reject ends the run and an answer resumes it', () => {
    expect(
      pauseResolutionEffect({ type: 'budget_approval', details: {} }, { action: 'approve', answer: null, extraBudgetUsd: 2 }, 'u'),
    ).toEqual({ kind: 'extend_budget', extraBudgetUsd: 2 });
    expect(pauseResolutionEffect({ type: 'budget_approval', details: {} }, { action: 'reject', answer: null }, 'u')).toMatchObject({
      kind: 'end',
      error: BUDGET_DECLINED_ERROR,
    });
    expect(pauseResolutionEffect({ type: 'question', details: {} }, { action: 'answer', answer: 'UTC' }, 'u')).toEqual({
      kind: 'resume',
      answer: 'UTC',
    });
  });
});
