import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlItemKey } from '../../adapters/dynamodb/tables';
import { ended, fastSession, sampleRepo, startTestPlatform, untilStatus, type TestPlatform } from './platform-harness';

/**
 * Issue 13 item 3 in local mode: a runner process that cannot start (here its configuration file went
 * bad after the platform read it) fails its run at once, not when the heartbeat window passes, with
 * its last stderr lines in the run's error; its slot and its budget come back exactly.
 */
describe('local mode: a runner that dies at start', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ session: fastSession });
  });
  afterAll(() => t?.stop());

  it('Given a config file the runner cannot read, When its run starts, Then the run ends FAILED runner_lost with its error lines, the slot free and the budget returned', async () => {
    // The platform holds the parsed config; each runner reads the file again at its start.
    writeFileSync(join(t.home.root, 'nightshift.config.json'), '{ this is not a configuration');
    const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.' });
    const run = await untilStatus(t.client, submitted.runId, ended, 'the run to end', 60_000);
    expect(run.status).toBe('FAILED');
    // The heartbeat window would say no_progress: this is the exit, seen as it happened.
    expect(run.error?.code).toBe('runner_lost');
    expect(run.error?.message).toMatch(/^the runner exited with code 2 without reporting\. last error lines: .*not valid JSON/);

    expect(await t.platform.store.slots.holders()).toEqual([]);
    const record = await t.platform.store.runs.get(run.runId);
    expect(record).toMatchObject({ settled: true, spentMicros: 0 });
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
    const { Item: orgDay } = await doc.send(
      new GetCommand({
        TableName: process.env.CONTROL_TABLE!,
        Key: { pk: controlItemKey.orgDay(record!.ledgerDay) },
        ConsistentRead: true,
      }),
    );
    expect(orgDay).toMatchObject({ committedMicros: 0, reservations: {} });
    doc.destroy();
    const { events } = await t.client.events(run.runId);
    expect(events.some((e) => /runner process exited \(code 2\) without reporting/.test(e.message))).toBe(true);
  }, 90_000);
});
