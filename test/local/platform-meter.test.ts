import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { startLocalDynamo, type LocalDynamo } from '../../local/dynamo-server';
import { PlatformMeter } from '../../local/meter/platform-meter';
import { TemplateFunctions } from '../../local/template-functions';
import { jsonLog } from '../../local/local-log';
import { join } from 'node:path';

/**
 * Item sizes as DynamoDB counts them: attribute names plus values. The item below is pk 'a' (2 + 1),
 * status 'Q' (6 + 1) and payload 1,500 × 'x' (7 + 1,500): 1,517 bytes, 2 WCU; its KEYS_ONLY index
 * entry (pk, status) is 10 bytes, 1 WCU.
 */
const payload = 'x'.repeat(1500);

describe('PlatformMeter on dynalite', () => {
  let dynamo: LocalDynamo;
  const meter = new PlatformMeter();
  beforeAll(async () => {
    dynamo = await startLocalDynamo({ meter });
    await dynamo.client.send(
      new CreateTableCommand({
        TableName: 'metered',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'status', AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [
          { IndexName: 'all', KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } },
          { IndexName: 'keys', KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
        ],
      }),
    );
  });
  afterAll(async () => dynamo.stop());
  beforeEach(() => meter.reset());

  it('Given a metered dynalite, When an item is put, Then it counts the table units and one copy per index at the projected size', async () => {
    await dynamo.client.send(
      new PutItemCommand({ TableName: 'metered', Item: { pk: { S: 'a' }, status: { S: 'Q' }, payload: { S: payload } } }),
    );
    expect(meter.snapshot().dynamo.metered).toEqual({
      requests: { PutItem: 1 },
      readUnits: 0,
      writeUnits: 2,
      indexWriteUnits: { all: 2, keys: 1 },
    });
  });

  it('Given an indexed item, When it is updated, Then an index whose entry does not change gets no copy, and one whose key changes a removal plus a put', async () => {
    await dynamo.client.send(
      new UpdateItemCommand({
        TableName: 'metered',
        Key: { pk: { S: 'a' } },
        UpdateExpression: 'SET payload = :p',
        ExpressionAttributeValues: { ':p': { S: payload.replace('x', 'y') } },
      }),
    );
    expect(meter.snapshot().dynamo.metered).toEqual({
      requests: { UpdateItem: 1 },
      readUnits: 0,
      writeUnits: 2,
      indexWriteUnits: { all: 2 },
    });
    meter.reset();
    await dynamo.client.send(
      new UpdateItemCommand({
        TableName: 'metered',
        Key: { pk: { S: 'a' } },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'R' } },
      }),
    );
    expect(meter.snapshot().dynamo.metered).toEqual({
      requests: { UpdateItem: 1 },
      readUnits: 0,
      writeUnits: 2,
      indexWriteUnits: { all: 4, keys: 2 },
    });
  });

  it('Given a metered dynalite, When a write fails its condition, Then it counts 1 WCU', async () => {
    await expect(
      dynamo.client.send(
        new PutItemCommand({ TableName: 'metered', Item: { pk: { S: 'a' } }, ConditionExpression: 'attribute_not_exists(pk)' }),
      ),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect(meter.snapshot().dynamo.metered).toEqual({ requests: { PutItem: 1 }, readUnits: 0, writeUnits: 1, indexWriteUnits: {} });
  });

  it('Given stored items, When they are read, Then reads count in 4 KB units, halved when eventually consistent, an index query included', async () => {
    await dynamo.client.send(new GetItemCommand({ TableName: 'metered', Key: { pk: { S: 'a' } } }));
    await dynamo.client.send(new GetItemCommand({ TableName: 'metered', Key: { pk: { S: 'a' } }, ConsistentRead: true }));
    await dynamo.client.send(
      new QueryCommand({
        TableName: 'metered',
        IndexName: 'all',
        KeyConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'R' } },
      }),
    );
    expect(meter.snapshot().dynamo.metered).toEqual({
      requests: { GetItem: 2, Query: 1 },
      readUnits: 0.5 + 1 + 0.5,
      writeUnits: 0,
      indexWriteUnits: {},
    });
  });

  it('Given a caller that asks for ReturnConsumedCapacity itself, When it writes, Then its answer is as it asked', async () => {
    const answer = await dynamo.client.send(
      new GetItemCommand({ TableName: 'metered', Key: { pk: { S: 'a' } }, ReturnConsumedCapacity: 'TOTAL' }),
    );
    expect(answer.ConsumedCapacity).toEqual({ TableName: 'metered', CapacityUnits: 0.5 });
    expect(meter.snapshot().dynamo.metered?.readUnits).toBe(0.5);
  });
});

describe('PlatformMeter on the template functions', () => {
  it('Given a meter, When a handler module is invoked, Then each invocation is counted with its duration', async () => {
    const meter = new PlatformMeter();
    const root = join(__dirname, 'fixtures', 'meter');
    const functions = new TemplateFunctions({ repoRoot: root, log: jsonLog(() => undefined), meter });
    await functions.handlerOf('handler.js')({});
    await functions.handlerOf('handler.js')({});
    const counts = meter.snapshot().lambda['handler.js'];
    expect(counts?.invocations).toBe(2);
    // Each invocation's duration rounded up to the ms, as Lambda bills it: at least 1 ms each.
    expect(Number.isInteger(counts?.durationMs)).toBe(true);
    expect(counts?.durationMs).toBeGreaterThanOrEqual(2);
  });

  it('Given no meter, Then nothing is wrapped', () => {
    const root = join(__dirname, 'fixtures', 'meter');
    const functions = new TemplateFunctions({ repoRoot: root, log: jsonLog(() => undefined) });
    expect(functions.handlerOf('handler.js')).toBe((require(join(root, 'handler.js')) as { handler: unknown }).handler);
  });
});
