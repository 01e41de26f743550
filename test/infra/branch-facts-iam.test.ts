import { synthesize } from './synth';
import { stackFixture, testConfig } from '../support/test-config';
import { ACCOUNT, arnOf, decide, REGION, rolesOf, type Template } from './policy-simulation';

/**
 * Issue 10 item 1: submit asks GitHub about a branch through the branch facts function, which answers
 * facts and never a token. Proved with the IAM policy simulator on the synthesized policies: the submit
 * function may invoke that function and no broker, reads no GitHub secret, and the facts function's
 * own role reads the App key and nothing of the runs.
 */
let template: Template;
let submitRole: string;
let webhookRole: string;
let factsRole: string;
let diffRole: string;
let factsArn: string;
let runBrokerArn: string;
let webhookBrokerArn: string;
const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
const logicalId = (construct: { node: { defaultChild?: unknown } }, stack: { getLogicalId(e: never): string }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

beforeAll(() => {
  const { json, stack } = synthesize({ config: testConfig(stackFixture), prebuiltRunnerImage: true });
  template = json as unknown as Template;
  submitRole = logicalId(stack.api.functions.SubmitRun.role!, stack);
  webhookRole = logicalId(stack.githubWebhook!.function.role!, stack);
  factsRole = logicalId(stack.branchFacts.function.role!, stack);
  diffRole = logicalId(stack.api.functions.GetRunDiff.role!, stack);
  factsArn = arnOf(template, logicalId(stack.branchFacts.function, stack));
  runBrokerArn = arnOf(template, logicalId(stack.tokenBroker.function, stack));
  webhookBrokerArn = arnOf(template, logicalId(stack.githubWebhook!.tokenBroker, stack));
});

const functions = () =>
  Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([id]) => arnOf(template, id));

describe("the submit function's role", () => {
  test('Given the synthesized stack, Then per the policy simulator it invokes the branch facts function and no other function: no token broker, so no token', async () => {
    const invocable: string[] = [];
    for (const fn of functions())
      if ((await decide(template, submitRole, { action: 'lambda:InvokeFunction', resource: fn })) === 'Allowed') invocable.push(fn);
    expect(invocable).toEqual([factsArn]);
    expect(await decide(template, submitRole, { action: 'lambda:InvokeFunction', resource: webhookBrokerArn })).not.toBe('Allowed');
    expect(await decide(template, submitRole, { action: 'lambda:InvokeFunction', resource: runBrokerArn })).not.toBe('Allowed');
  });

  test('Given the synthesized stack, Then per the policy simulator it reads no GitHub secret and cannot change or read the facts function', async () => {
    for (const name of ['nightshift/gh-key', 'nightshift/gh-webhook', 'nightshift/npm-token']) {
      expect(await decide(template, submitRole, { action: 'secretsmanager:GetSecretValue', resource: secret(name) })).not.toBe('Allowed');
    }
    for (const action of [
      'lambda:UpdateFunctionCode',
      'lambda:UpdateFunctionConfiguration',
      'lambda:GetFunction',
      'lambda:InvokeFunctionUrl',
    ]) {
      expect(await decide(template, submitRole, { action, resource: factsArn })).not.toBe('Allowed');
    }
  });
});

describe('who may invoke the branch facts function', () => {
  test('Given every role in the stack, Then per the policy simulator only the submitters of runs that name a branch (the submit and webhook functions) and the run diff route may', async () => {
    const invokers: string[] = [];
    for (const role of rolesOf(template))
      if ((await decide(template, role, { action: 'lambda:InvokeFunction', resource: factsArn })) === 'Allowed') invokers.push(role);
    expect(invokers.sort()).toEqual([submitRole, webhookRole, diffRole].sort());
  });

  test('Given the synthesized stack, Then per the policy simulator the run diff route (GET /v1/runs/{runId}/diff) invokes it and nothing else, reads no secret and writes no table', async () => {
    const invocable: string[] = [];
    for (const fn of functions())
      if ((await decide(template, diffRole, { action: 'lambda:InvokeFunction', resource: fn })) === 'Allowed') invocable.push(fn);
    expect(invocable).toEqual([factsArn]);
    for (const name of ['nightshift/gh-key', 'nightshift/gh-webhook', 'nightshift/npm-token']) {
      expect(await decide(template, diffRole, { action: 'secretsmanager:GetSecretValue', resource: secret(name) })).not.toBe('Allowed');
    }
    for (const [id, r] of Object.entries(template.Resources)) {
      if (r.Type !== 'AWS::DynamoDB::Table') continue;
      const table = arnOf(template, id);
      for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'])
        expect(await decide(template, diffRole, { action, resource: table })).not.toBe('Allowed');
    }
  });
});

describe("the branch facts function's own role", () => {
  test('Given the synthesized stack, Then per the policy simulator it reads the App key and no other secret', async () => {
    expect(await decide(template, factsRole, { action: 'secretsmanager:GetSecretValue', resource: secret('nightshift/gh-key') })).toBe(
      'Allowed',
    );
    expect(
      await decide(template, factsRole, { action: 'secretsmanager:GetSecretValue', resource: secret('nightshift/gh-webhook') }),
    ).not.toBe('Allowed');
    expect(
      await decide(template, factsRole, { action: 'secretsmanager:GetSecretValue', resource: secret('nightshift/npm-token') }),
    ).not.toBe('Allowed');
  });

  test('Given the synthesized stack, Then per the policy simulator it reaches no table and invokes no function', async () => {
    const tables = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::DynamoDB::Table')
      .map(([id]) => arnOf(template, id));
    for (const table of tables) {
      for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:Scan']) {
        expect(await decide(template, factsRole, { action, resource: table })).not.toBe('Allowed');
      }
    }
    for (const fn of functions())
      expect(await decide(template, factsRole, { action: 'lambda:InvokeFunction', resource: fn })).not.toBe('Allowed');
  });
});
