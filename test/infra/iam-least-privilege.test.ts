import { synthesize, type Synthesized } from './synth';

/**
 * What each role may do, read from the synthesized template: the statements of every policy attached
 * to the role of a Lambda (by its handler module) or of the runner task.
 */
type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: Record<string, unknown> };
type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize();
});

const resources = () => (synth.json.Resources ?? {}) as Record<string, Resource>;

function roleOfFunction(entry: string): string {
  const matches = Object.values(resources()).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['nightshift:entry'] === entry);
  if (matches.length !== 1) throw new Error(`expected one function for ${entry}, found ${matches.length}`);
  return ((matches[0]!.Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'])[0];
}

function runnerTaskRole(): string {
  const [runner] = Object.values(resources()).filter((r) => r.Type === 'AWS::ECS::TaskDefinition' && JSON.stringify(r.Properties).includes('"Name":"runner"'));
  return ((runner!.Properties!.TaskRoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'])[0];
}

function statementsOf(roleId: string): Statement[] {
  return Object.values(resources())
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties!.Roles).includes(`"${roleId}"`))
    .flatMap((r) => (r.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (roleId: string) => new Set(statementsOf(roleId).flatMap((s) => [s.Action].flat()));

describe('states:StopExecution', () => {
  test('only the handlers that stop executions may: cancel (and not submit, which never stops what did not start)', () => {
    expect(actionsOf(roleOfFunction('lambdas/api/cancel-run.ts'))).toContain('states:StopExecution');
    expect(actionsOf(roleOfFunction('lambdas/api/submit-run.ts'))).not.toContain('states:StopExecution');
    expect(actionsOf(roleOfFunction('lambdas/schedule/submit.ts'))).not.toContain('states:StopExecution');
  });
});

describe('the slot reconciler (run gauges)', () => {
  test('may update only the semaphore items of the control table', () => {
    const role = roleOfFunction('lambdas/ops/run-gauges.ts');
    const updates = statementsOf(role).filter((s) => [s.Action].flat().includes('dynamodb:UpdateItem'));
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({
      Action: 'dynamodb:UpdateItem',
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['slot#global', 'slot#repo#*'] } },
    });
    expect(JSON.stringify(updates[0]!.Resource)).toContain('Control');
  });
});
