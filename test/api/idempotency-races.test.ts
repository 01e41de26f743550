import './quiet-powertools';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { submitRecordId } from '../../lambdas/api/idempotency';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { alice, apiEvent, bodyOf, startApi, stateMachineArn } from './api-harness';
import { freshEachTest } from '../support/fresh-each-test';

/** Races and stale records of the Idempotency-Key (adapters/dynamodb/idempotency-records.ts), on dynalite. */
describe('Idempotency-Key races and stale records', () => {
  const api = freshEachTest(startApi);
  const submit = submitRunHandler(() => api.deps);

  const body = { repo: 'acme/web', prompt: 'Bump lodash', budgetUsd: 0.5, labels: ['a', 'b'] };
  const keyed = (key: string, requestBody: object = body) => apiEvent({ body: requestBody, headers: { 'idempotency-key': key } });
  const runCount = async () => (await api.deps.runs.list({ limit: 10 })).runs.length;
  const recordOf = async (key: string) =>
    (await api.db.doc.send(new GetCommand({ TableName: api.db.names.idempotency, Key: { id: submitRecordId(alice, key) } }))).Item;

  /** Holds every StartExecution until `open()`: a submission that is still in progress. */
  function holdExecutions() {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let started!: () => void;
    const reached = new Promise<void>((resolve) => {
      started = resolve;
    });
    api.sfn.on(StartExecutionCommand).callsFake(async (input: { name: string }) => {
      started();
      await gate;
      return { executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`, startDate: new Date() };
    });
    return { open, reached };
  }

  it('Given one Idempotency-Key, When two submissions of it arrive at once, Then one run is made and started, and the other gets the same run or 409 in progress', async () => {
    const [a, b] = await Promise.all([submit(keyed('race-1')), submit(keyed('race-1'))]);
    const answers = [a, b].map((r) => ({ status: r.statusCode, body: bodyOf(r) }));
    const created = answers.filter((r) => r.status === 202);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((r) => r.body.runId)).size).toBe(1);
    for (const r of answers.filter((r) => r.status !== 202))
      expect([r.status, r.body.error.code]).toEqual([409, 'idempotency_in_progress']);
    expect(await runCount()).toBe(1);
    expect(api.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('Given one Idempotency-Key, When two submissions of it with different bodies arrive at once, Then one run is made and the other is refused as a reused key', async () => {
    const [a, b] = await Promise.all([submit(keyed('race-2')), submit(keyed('race-2', { ...body, prompt: 'Something else' }))]);
    const statuses = [a.statusCode, b.statusCode].sort();
    expect(statuses).toEqual([202, 409]);
    expect(bodyOf([a, b].find((r) => r.statusCode === 409)!).error.code).toBe('idempotency_key_reused');
    expect(await runCount()).toBe(1);
  });

  it('Given a first submission still running, When the same key comes again, Then it is 409 in progress with Retry-After; When the first is done, Then the key replays its run', async () => {
    const held = holdExecutions();
    const first = submit(keyed('slow'));
    await held.reached;
    const during = await submit(keyed('slow'));
    expect(during.statusCode).toBe(409);
    expect(bodyOf(during).error.code).toBe('idempotency_in_progress');
    expect(during.headers?.['retry-after']).toBe('1');
    held.open();
    const done = await first;
    expect(done.statusCode).toBe(202);
    const after = await submit(keyed('slow'));
    expect(after.statusCode).toBe(202);
    expect(bodyOf(after).runId).toBe(bodyOf(done).runId);
    expect(await runCount()).toBe(1);
  });

  it('Given a first submission still running, When the same key comes with another body, Then it is refused as a reused key and the first still succeeds', async () => {
    const held = holdExecutions();
    const first = submit(keyed('slow-2'));
    await held.reached;
    const other = await submit(keyed('slow-2', { ...body, prompt: 'Something else' }));
    expect(other.statusCode).toBe(409);
    expect(bodyOf(other).error.code).toBe('idempotency_key_reused');
    held.open();
    expect((await first).statusCode).toBe(202);
  });

  it('Given a submission that crashed after its claim, When the key is used after its invocation deadline, Then the submission goes through and the record completes', async () => {
    await submit(keyed('crashed'));
    const record = await recordOf('crashed');
    // As a submission that died after its claim leaves it: in progress, its holder's deadline passed, the record itself not expired.
    await api.db.doc.send(
      new PutCommand({
        TableName: api.db.names.idempotency,
        Item: { ...record, status: 'INPROGRESS', in_progress_expiration: Date.now() - 1_000, data: undefined },
      }),
    );
    const retried = await submit(keyed('crashed'));
    expect(retried.statusCode).toBe(202);
    expect(await runCount()).toBe(2);
    expect((await recordOf('crashed'))?.status).toBe('COMPLETED');
  });

  it('Given a record past its expiration that the TTL sweep has not removed yet, When its key is used, Then it is treated as absent and a new run is made', async () => {
    const first = await submit(keyed('old'));
    const record = await recordOf('old');
    await api.db.doc.send(
      new PutCommand({ TableName: api.db.names.idempotency, Item: { ...record, expiration: Math.floor(Date.now() / 1000) - 60 } }),
    );
    const again = await submit(keyed('old'));
    expect(again.statusCode).toBe(202);
    expect(bodyOf(again).runId).not.toBe(bodyOf(first).runId);
    expect(await runCount()).toBe(2);
  });

  it('Given a submission with a key, When its record is read, Then it holds the answer, the body digest and the status, and expires 24 h later in the TTL attribute', async () => {
    const before = Math.floor(Date.now() / 1000);
    const answer = await submit(keyed('layout'));
    const record = await recordOf('layout');
    expect(record).toMatchObject({
      status: 'COMPLETED',
      data: { runId: bodyOf(answer).runId, status: 'QUEUED' },
      validation: expect.any(String),
    });
    expect(record?.expiration).toBeGreaterThanOrEqual(before + 24 * 3600);
    expect(record?.expiration).toBeLessThanOrEqual(before + 24 * 3600 + 60);
  });

  it('Given a record Powertools Idempotency wrote before the switch, When its key comes with the same body, Then its run is replayed; When another body comes, Then it is a reused key', async () => {
    // Written by @aws-lambda-powertools/idempotency 2.35.0 for alice, key k-compat and this body (its id and validation digests).
    const runId = '01M97KEHVDJ69H3TFM0PKNYQMB';
    await api.db.doc.send(
      new PutCommand({
        TableName: api.db.names.idempotency,
        Item: {
          id: 'submit-run#RKo6H7LnirC1SM9dyg//5g==',
          status: 'COMPLETED',
          expiration: Math.floor(Date.now() / 1000) + 3600,
          in_progress_expiration: Date.now() - 60_000,
          data: { runId, status: 'QUEUED' },
          validation: 'lMAKVUZDvJbYGFocqyF5nQ==',
        },
      }),
    );
    const replayed = await submit(keyed('k-compat'));
    expect(replayed.statusCode).toBe(202);
    expect(bodyOf(replayed).runId).toBe(runId);
    expect(await runCount()).toBe(0);
    const other = await submit(keyed('k-compat', { ...body, prompt: 'Something else' }));
    expect(bodyOf(other).error.code).toBe('idempotency_key_reused');
  });
});
