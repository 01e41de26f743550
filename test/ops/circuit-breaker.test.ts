import '../api/quiet-powertools';
import { createLogger } from '../../core/observability/logger';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { submitScheduledRun, type ScheduleSubmitDeps } from '../../core/runs/schedule-submit';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { onAlarmNotification, type CircuitBreakerDeps } from '../../lambdas/ops/circuit-breaker';
import { intakeAdminHandler } from '../../lambdas/ops/intake';
import { apiEvent, bodyOf, snapshotTables, startApi } from '../api/api-harness';
import { freshEachTest } from '../support/fresh-each-test';
import { apiFixture, testConfig } from '../support/test-config';
import { listLog, listSink } from './list-sink';

const SPEND_ALARM = 'Nightshift-MonitoringSpendPerHour-ABC123';
const config = testConfig(apiFixture, {
  schedules: [{ name: 'nightly-deps', cron: '0 3 * * ? *', timezone: 'Europe/Berlin', repo: 'acme/web', prompt: 'Update dependencies.' }],
  alarms: { spendPerHourUsd: 20 },
});

function alarmMessage(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    AlarmName: SPEND_ALARM,
    NewStateValue: 'ALARM',
    NewStateReason: 'Threshold Crossed: 1 datapoint [27.4] was greater than the threshold (20.0).',
    StateChangeTime: '2025-01-01T03:00:00.000+0000',
    ...overrides,
  });
}

describe('spend circuit breaker', () => {
  const api = freshEachTest(() => startApi(config));
  let breaker: CircuitBreakerDeps & { metrics: ReturnType<typeof listSink> };
  let schedule: ScheduleSubmitDeps & { metrics: ReturnType<typeof listSink>; log: ReturnType<typeof listLog> };
  const operator = 'arn:aws:iam::123456789012:role/oncall';

  beforeEach(() => {
    breaker = { intake: api.deps.intake, metrics: listSink(), log: listLog(), spendAlarmName: SPEND_ALARM };
    schedule = { ...api.deps, metrics: listSink(), log: listLog() };
  });

  const submit = () => submitRunHandler(() => api.deps)(apiEvent({ body: { repo: 'acme/web', prompt: 'Fix the flaky test.' } }));
  const admin = intakeAdminHandler(() => ({
    intake: api.deps.intake,
    metrics: listSink(),
    log: createLogger({ serviceName: 'test-admin' }),
  }));
  const adminEvent = (method: 'GET' | 'POST', body?: object, requester: string | null = operator) => {
    const event = apiEvent({ ...(body ? { body } : {}), requester });
    return { ...event, requestContext: { ...event.requestContext, http: { method } } };
  };

  it('Given the spend alarm fired, When a run is submitted or a schedule ticks, Then intake is paused: submit answers 503 and writes nothing, the schedule skips; When resumed, Then runs are accepted again', async () => {
    // Given the spend alarm entered ALARM
    await expect(onAlarmNotification(breaker, alarmMessage())).resolves.toBe('tripped');
    expect(breaker.metrics.records).toEqual([{ name: 'CircuitBreakerTripped', value: 1, dimensions: {} }]);
    const flag = await api.deps.intake.get();
    expect(flag.paused).toBe(true);
    expect(flag.reason).toContain(SPEND_ALARM);

    // When someone submits a run
    const before = await snapshotTables(api.db);
    const refused = await submit();

    // Then it is refused with 503, a clear message and Retry-After, and nothing was written or started
    expect(refused.statusCode).toBe(503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(bodyOf(refused).error.code).toBe('intake_paused');
    expect(bodyOf(refused).error.message).toMatch(/intake is paused/);
    expect(await snapshotTables(api.db)).toEqual(before);
    expect(api.sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);

    // And a schedule tick skips: it returns normally (no Scheduler retry), logged and counted
    const tick = await submitScheduledRun(schedule, { schedule: 'nightly-deps', scheduledTime: '2025-01-01T03:00:00Z' });
    expect(tick).toMatchObject({ status: 'refused', reason: 'intake_paused' });
    expect(schedule.metrics.records).toEqual([
      { name: 'SubmissionsRefused', value: 1, dimensions: { reason: 'intake_paused', source: 'schedule' } },
    ]);
    expect(schedule.log.lines.find((l) => l.level === 'warn')?.attributes).toMatchObject({
      schedule: 'nightly-deps',
      reason: 'intake_paused',
    });
    expect(await snapshotTables(api.db)).toEqual(before);

    // When an operator resumes intake
    const resumed = await admin(adminEvent('POST', { action: 'resume', reason: 'runaway run cancelled' }));
    expect(resumed.statusCode).toBe(200);
    expect(bodyOf(resumed)).toMatchObject({ paused: false, reason: `resumed by ${operator}: runaway run cancelled` });

    // Then runs are accepted again, from the API and from the schedule
    const accepted = await submit();
    expect(accepted.statusCode).toBe(202);
    const scheduled = await submitScheduledRun(schedule, { schedule: 'nightly-deps' });
    expect(scheduled.status).toBe('submitted');
    if (scheduled.status !== 'submitted') throw new Error('unreachable');
    const run = await api.deps.runs.get(scheduled.runId);
    expect(run).toMatchObject({
      source: 'schedule',
      requester: 'schedule:nightly-deps',
      repo: 'acme/web',
      status: 'QUEUED',
      prompt: 'Update dependencies.',
    });
    expect(schedule.metrics.records.at(-1)).toEqual({
      name: 'RunsSubmitted',
      value: 1,
      dimensions: { repo: 'acme/web', source: 'schedule' },
    });
    expect(api.sfn.commandCalls(StartExecutionCommand)).toHaveLength(2);
  });

  it('Given other alarms, other states or messages that are not alarm notifications, When they reach the breaker, Then they are ignored and intake stays open', async () => {
    await expect(onAlarmNotification(breaker, alarmMessage({ AlarmName: 'Nightshift-FailedRunRatio' }))).resolves.toBe('ignored');
    await expect(onAlarmNotification(breaker, alarmMessage({ NewStateValue: 'OK' }))).resolves.toBe('ignored');
    await expect(onAlarmNotification(breaker, 'not json')).resolves.toBe('ignored');
    await expect(onAlarmNotification(breaker, JSON.stringify({ hello: 'world' }))).resolves.toBe('ignored');
    expect((await api.deps.intake.get()).paused).toBe(false);
    expect(breaker.metrics.records).toEqual([]);
  });

  it('Given an operator pause, When the spend alarm fires during it, Then the pause and its reason are kept', async () => {
    await admin(adminEvent('POST', { action: 'pause', reason: 'maintenance' }));
    await expect(onAlarmNotification(breaker, alarmMessage())).resolves.toBe('already_paused');
    expect((await api.deps.intake.get()).reason).toBe(`paused by ${operator}: maintenance`);
    expect(breaker.metrics.records).toEqual([]);
  });

  it('Given the intake admin route, When it is asked for the status, by a caller without an IAM identity or with a bad body, Then it answers the status and refuses the others', async () => {
    const status = await admin(adminEvent('GET'));
    expect(status.statusCode).toBe(200);
    expect(bodyOf(status)).toEqual({ paused: false, reason: null, at: null });
    expect(status.headers['x-request-id']).toBeTruthy();

    const jwtOnly = apiEvent({ body: { action: 'pause' }, requester: null });
    const jwt = await admin({
      ...jwtOnly,
      requestContext: { ...jwtOnly.requestContext, authorizer: { jwt: { claims: { sub: 'someone' } } }, http: { method: 'POST' } },
    } as never);
    expect(jwt.statusCode).toBe(403);

    const bad = await admin(adminEvent('POST', { action: 'explode' }));
    expect(bad.statusCode).toBe(400);
    const extra = await admin(adminEvent('POST', { action: 'pause', paused: true }));
    expect(extra.statusCode).toBe(400);
    expect((await api.deps.intake.get()).paused).toBe(false);
  });
});
