import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '../../adapters/dynamodb/condition-failure';
import { withDynalite } from '../support/dynalite';
import { withFaults } from '../support/dynamo-faults';

describe('the fault-injecting document client (test/support/dynamo-faults.ts)', () => {
  const db = withDynalite();
  const counter = (pk: string) => ({
    TableName: db.names.control,
    Key: { pk },
    UpdateExpression: 'ADD n :one',
    ExpressionAttributeValues: { ':one': 1 },
  });
  async function read(pk: string): Promise<number | undefined> {
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.names.control, Key: { pk }, ConsistentRead: true }));
    return Item?.n as number | undefined;
  }

  it('Given a competing write on the second update of a key, When the key is updated three times, Then the write lands between the first and the second update, once', async () => {
    const faults = withFaults(db.doc);
    const observed: Array<number | undefined> = [];
    const race = faults.before(
      { command: UpdateCommand, table: db.names.control, key: { pk: 'faults#race' } },
      async (real) => {
        const { Item } = await real.send(new GetCommand({ TableName: db.names.control, Key: { pk: 'faults#race' }, ConsistentRead: true }));
        observed.push(Item?.n as number | undefined);
        await real.send(
          new UpdateCommand({
            TableName: db.names.control,
            Key: { pk: 'faults#race' },
            UpdateExpression: 'ADD n :hundred',
            ExpressionAttributeValues: { ':hundred': 100 },
          }),
        );
      },
      { nth: 2 },
    );
    expect(race.fired).toBe(0);
    // Another key does not count towards the nth.
    await faults.doc.send(new UpdateCommand(counter('faults#other')));
    for (let i = 0; i < 3; i += 1) await faults.doc.send(new UpdateCommand(counter('faults#race')));
    expect(race.fired).toBe(1);
    expect(observed).toEqual([1]);
    expect(await read('faults#race')).toBe(103);
    expect(faults.sentCount({ command: UpdateCommand, key: { pk: 'faults#race' } })).toBe(3);
  });

  it('Given a throttle on a put, When it is sent, Then it fails with a fault that is not a failed condition, nothing is written, and the next one goes through', async () => {
    const faults = withFaults(db.doc);
    const throttle = faults.throttle({
      command: PutCommand,
      where: (input) => (input.Item as { pk?: string } | undefined)?.pk === 'faults#put',
    });
    const put = () => faults.doc.send(new PutCommand({ TableName: db.names.control, Item: { pk: 'faults#put', n: 7 } }));
    const failure = await put().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(isConditionFailure(failure)).toBe(false);
    expect(throttle.fired).toBe(1);
    expect(await read('faults#put')).toBeUndefined();
    expect(faults.sentCount({ command: PutCommand })).toBe(0);
    await put();
    expect(await read('faults#put')).toBe(7);
  });
});
