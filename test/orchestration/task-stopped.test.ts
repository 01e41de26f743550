import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunStates } from '../../infra/constructs/orchestrator';
import { matchesEventPattern, resolveIntrinsics } from '../../local/state-machine';
import { CloudFormationTemplate } from '../../local/state-machine/template';
import { createTaskStoppedHandler, type TaskStoppedOutcome } from '../../lambdas/orchestrator/task-stopped';
import { synthesize } from '../infra/synth';
import { stackFixture, testConfig } from '../support/test-config';
import { OrchestrationHarness } from './harness';
import { freshEachTest } from '../support/fresh-each-test';

/**
 * Issue 13 item 3 (a task that stops without reporting), the AWS path executed offline: ECS's Task
 * State Change event, in its real shape (test/fixtures/ecs), fed to the task-stopped handler against
 * the synthesized state machine definition on the offline executor and dynalite. The run ends at once
 * with the stop reason in words, and Finalize releases its slots and budget exactly.
 */
const config = testConfig(stackFixture);
let template: CloudFormationTemplate;
let rulePattern: Record<string, unknown>;
let clusterArn: string;
let family: string;

const sample = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'ecs', 'task-stopped-oom.json'), 'utf8')) as Record<string, any>;

beforeAll(() => {
  const { json, stack } = synthesize({ config, prebuiltRunnerImage: true });
  template = CloudFormationTemplate.parse(json);
  const ruleId = stack.getLogicalId(stack.orchestrator.taskStoppedRule.node.defaultChild as never);
  rulePattern = resolveIntrinsics(template.Resources[ruleId]!.Properties!.EventPattern, template) as Record<string, unknown>;
  clusterArn = (rulePattern as { detail: { clusterArn: [string] } }).detail.clusterArn[0];
  family = stack.runtime.taskDefinition.family;
});
const h = freshEachTest(() => OrchestrationHarness.start(template, config));
beforeEach(() => {
  described = new Map();
});

/** The sample event, for this stack's cluster and runner family, about the run's task and token. */
function stoppedEvent(
  runId: string,
  token: string,
  adjust: (detail: Record<string, any>) => unknown = () => undefined,
): Record<string, any> {
  const event = structuredClone(sample);
  event.detail.clusterArn = clusterArn;
  event.detail.group = `family:${family}`;
  event.detail.startedBy = runId;
  event.detail.overrides.containerOverrides[0].environment = [
    { name: 'RUN_ID', value: runId },
    { name: 'TASK_TOKEN', value: token },
  ];
  adjust(event.detail);
  return event;
}

/** What ECS's DescribeTasks answers for a task's overrides, when a test gives one; none by default. */
let described: Map<string, string>;
const handler = () =>
  createTaskStoppedHandler(() => ({
    clusterArn,
    sendTaskFailure: (token, error, cause) => h.machine.sendTaskFailure(token, error, cause),
    describeTaskToken: async (taskArn) => described.get(taskArn),
  }));

describe('the task-stopped rule (synthesized)', () => {
  test("Given the synthesized task-stopped rule, Then it matches a stopped runner task of this cluster, and no running task, other family, other cluster's task or other source", () => {
    const event = stoppedEvent('01KC0000000000000000000001', 'token');
    expect(matchesEventPattern(rulePattern, event)).toBe(true);
    expect(matchesEventPattern(rulePattern, { ...event, detail: { ...event.detail, lastStatus: 'RUNNING' } })).toBe(false);
    expect(matchesEventPattern(rulePattern, { ...event, detail: { ...event.detail, group: 'family:NightshiftAgentRuntimeProxy' } })).toBe(
      false,
    );
    expect(
      matchesEventPattern(rulePattern, {
        ...event,
        detail: { ...event.detail, clusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/other' },
      }),
    ).toBe(false);
    expect(matchesEventPattern(rulePattern, { ...event, source: 'aws.states' })).toBe(false);
  });
});

describe('a runner task that stops without reporting, executed offline', () => {
  test('Given a running run, When its runner task stops out of memory without reporting, Then the run ends FAILED runner_lost with the stop reason, through Finalize, nothing leaked', async () => {
    const runId = await h.submit('acme/web');
    const runner = await h.runnerOf(runId);
    await h.runnerBegins(runId, 2_500);
    const outcome = await handler()(stoppedEvent(runId, runner.token));
    expect(outcome).toMatchObject({ runId, action: 'failed' });
    const { execution, run } = await h.ended(runId);
    // A lost task is offered to the automatic resume first; with no checkpoint to go on from, it refuses and Finalize ends the run.
    expect(execution.statesEntered).toEqual([
      RunStates.admit,
      RunStates.admitted,
      RunStates.runRunner,
      RunStates.resumeWithoutHuman,
      RunStates.finalize,
      RunStates.done,
    ]);
    expect(run.status).toBe('FAILED');
    expect(run.error?.code).toBe('runner_lost');
    expect(run.error?.message).toMatch(
      /^the runner ran out of memory\. ECS: Essential container in task exited; OutOfMemoryError: Container killed due to memory usage$/,
    );
    expect(h.stoppedTasks).toContain(runId);
    await h.expectNothingLeaked([runId]);
  });

  test('Given a runner task whose image cannot be pulled, When it stops before the runner ran, Then the run ends FAILED saying the task could not start', async () => {
    const runId = await h.submit('acme/api');
    const runner = await h.runnerOf(runId);
    const pull =
      'CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref 111122223333.dkr.ecr.us-west-2.amazonaws.com/runner:missing: not found';
    const outcome = await handler()(
      stoppedEvent(runId, runner.token, (d) => {
        d.stopCode = 'TaskFailedToStart';
        d.stoppedReason = pull;
        delete d.containers[0].exitCode;
        d.containers[0].reason = pull;
        delete d.startedAt;
      }),
    );
    expect(outcome.action).toBe('failed');
    const { run } = await h.ended(runId);
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'runner_lost' } });
    expect(run.error?.message).toBe(`the runner task could not start. ECS: ${pull}`);
    await h.expectNothingLeaked([runId]);
  });

  test('Given a runner that reported before its task stopped, When the stop arrives (exit 0 after success, exit 1 after failure), Then the run keeps its outcome', async () => {
    const ok = await h.submit('acme/web');
    const okRunner = await h.runnerOf(ok);
    await h.runnerBegins(ok, 100);
    await h.machine.sendTaskSuccess(
      okRunner.token,
      JSON.stringify({ outcome: 'no_changes', branch: null, prUrl: null, question: null, summary: 'nothing to do' }),
    );
    expect((await h.ended(ok)).run.status).toBe('SUCCEEDED');
    const exitedZero = await handler()(
      stoppedEvent(ok, okRunner.token, (d) => Object.assign(d.containers[0], { exitCode: 0, reason: undefined })),
    );
    expect(exitedZero).toMatchObject({ action: 'none' });
    expect((await h.db.store.runs.get(ok))?.status).toBe('SUCCEEDED');

    const failed = await h.submit('acme/api');
    const failedRunner = await h.runnerOf(failed);
    await h.runnerBegins(failed, 100);
    await h.machine.sendTaskFailure(failedRunner.token, 'Nightshift.RunFailed', 'the tests failed at base and at head');
    expect((await h.ended(failed)).run.error?.code).toBe('run_failed');
    const exitedOne = await handler()(
      stoppedEvent(failed, failedRunner.token, (d) => Object.assign(d.containers[0], { exitCode: 1, reason: undefined })),
    );
    expect(exitedOne).toMatchObject({ action: 'already_ended' });
    expect((await h.db.store.runs.get(failed))?.error).toMatchObject({
      code: 'run_failed',
      message: 'the tests failed at base and at head',
    });
    await h.expectNothingLeaked([ok, failed]);
  });

  test('Given a stopped event without the overrides, When it is handled, Then the token is asked of ECS (DescribeTasks) and the run ends FAILED runner_lost the same', async () => {
    const runId = await h.submit('acme/web');
    const runner = await h.runnerOf(runId);
    const event = stoppedEvent(runId, runner.token, (d) => Object.assign(d, { overrides: { containerOverrides: [{ name: 'runner' }] } }));
    described.set(event.detail.taskArn, runner.token);
    expect(await handler()(event)).toMatchObject({ action: 'failed' });
    expect((await h.ended(runId)).run.error?.code).toBe('runner_lost');
    await h.expectNothingLeaked([runId]);
  });

  test.each<[string, (d: Record<string, any>) => unknown, RegExp]>([
    ['a task still running', (d) => Object.assign(d, { lastStatus: 'RUNNING' }), /RUNNING/],
    [
      'a task of another cluster',
      (d) => Object.assign(d, { clusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/other' }),
      /another cluster/,
    ],
    ['a task not started for a run', (d) => Object.assign(d, { startedBy: 'ecs-svc/123' }), /not started for a run/],
    [
      'an event without the task token that ECS cannot describe either',
      (d) => Object.assign(d, { overrides: { containerOverrides: [{ name: 'runner' }] } }),
      /no task token/,
    ],
  ])('Given %s, When its stopped event is handled, Then it is ignored saying why and the run is untouched', async (_what, adjust, why) => {
    const runId = await h.submit('acme/web');
    const runner = await h.runnerOf(runId);
    const outcome: TaskStoppedOutcome = await handler()(stoppedEvent(runId, runner.token, adjust));
    expect(outcome.action).toBe('ignored');
    expect('why' in outcome ? outcome.why : '').toMatch(why);
    expect((await h.db.store.runs.get(runId))?.status).toBe('STARTING');
    await h.cancel(runId);
    await h.ended(runId);
  });
});
