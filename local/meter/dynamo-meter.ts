import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { PlatformMeter } from './platform-meter';

/**
 * DynamoDB metering for a dynalite server (local/dynamo-server.ts, only with a meter): every request is
 * asked for its consumed capacity (ReturnConsumedCapacity INDEXES when the caller asked for none), which
 * dynalite computes from item sizes as DynamoDB does (a write: the larger of the item before and after,
 * 1 KB units; a read: 4 KB units, halved when eventually consistent; a query: the bytes it read), and
 * the answer's units are counted per table. A write that fails its condition costs 1 WCU, as on
 * DynamoDB. dynalite leaves index copies out of a write's units: they are counted from its own index
 * updates (its `updateIndexes`, given the item before and after), one write of the projected entry's
 * size per entry put, changed or removed, none when an entry's key and projected attributes stay the same.
 */

type Item = Record<string, unknown>;
interface IndexAction {
  index: string;
  key: string;
  item: Item;
}
interface DynaliteTable {
  TableName: string;
  LocalSecondaryIndexes?: unknown[];
  GlobalSecondaryIndexes?: unknown[];
}
/** The part of dynalite's db module (no types shipped) this uses. */
interface DynaliteDb {
  create: (options: unknown) => object;
  updateIndexes: (
    store: object,
    table: DynaliteTable,
    existingItem: Item | null | undefined,
    item: Item | null | undefined,
    cb: unknown,
  ) => unknown;
  getIndexActions: (
    indexes: unknown[],
    existingItem: Item | null | undefined,
    item: Item | null | undefined,
    table: DynaliteTable,
  ) => { puts: IndexAction[] };
  itemSize: (item: Item) => number;
}

const db = require('dynalite/db') as DynaliteDb;
const meters = new WeakMap<object, PlatformMeter>();
let indexUpdatesWrapped = false;

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

/** Write units of one index entry: 1 KB units of its projected attributes, at least 1. */
function entryUnits(item: Item): number {
  return Math.max(1, Math.ceil(db.itemSize(item) / 1024));
}

function canonical(item: Item): string {
  return JSON.stringify(
    Object.keys(item)
      .sort()
      .map((k) => [k, item[k]]),
  );
}

/** The index write units of replacing `before` by `after` (either absent), per index. */
export function indexCopyUnits(
  table: DynaliteTable,
  before: Item | null | undefined,
  after: Item | null | undefined,
): Record<string, number> {
  const units: Record<string, number> = {};
  for (const indexes of [table.LocalSecondaryIndexes ?? [], table.GlobalSecondaryIndexes ?? []]) {
    const old = new Map(db.getIndexActions(indexes, null, before, table).puts.map((a) => [a.index, a]));
    const next = new Map(db.getIndexActions(indexes, null, after, table).puts.map((a) => [a.index, a]));
    for (const index of new Set([...old.keys(), ...next.keys()])) {
      const o = old.get(index);
      const n = next.get(index);
      let u = 0;
      if (o && n)
        u = o.key === n.key ? (canonical(o.item) === canonical(n.item) ? 0 : entryUnits(n.item)) : entryUnits(o.item) + entryUnits(n.item);
      else if (n) u = entryUnits(n.item);
      else if (o) u = entryUnits(o.item);
      if (u > 0) units[index] = u;
    }
  }
  return units;
}

function wrapIndexUpdates(): void {
  if (indexUpdatesWrapped) return;
  indexUpdatesWrapped = true;
  const original = db.updateIndexes;
  db.updateIndexes = (store, table, existingItem, item, cb) => {
    const meter = meters.get(store);
    if (meter)
      for (const [index, units] of Object.entries(indexCopyUnits(table, existingItem, item)))
        meter.dynamoIndexWrite(table.TableName, index, units);
    return original(store, table, existingItem, item, cb);
  };
}

interface Consumed {
  TableName?: string;
  CapacityUnits?: number;
}

function countAnswer(meter: PlatformMeter, operation: string, request: { TableName?: unknown }, body: string): void {
  let answer: { ConsumedCapacity?: Consumed | Consumed[]; __type?: string };
  try {
    answer = JSON.parse(body) as typeof answer;
  } catch {
    return;
  }
  const table = typeof request.TableName === 'string' ? request.TableName : undefined;
  if (answer.__type?.endsWith('ConditionalCheckFailedException') && table) {
    meter.dynamoRequest(table, operation, { read: 0, write: 1 });
    return;
  }
  const consumed =
    answer.ConsumedCapacity === undefined
      ? []
      : Array.isArray(answer.ConsumedCapacity)
        ? answer.ConsumedCapacity
        : [answer.ConsumedCapacity];
  for (const c of consumed) {
    if (!c.TableName) continue;
    const units = c.CapacityUnits ?? 0;
    meter.dynamoRequest(c.TableName, operation, { read: READS.has(operation) ? units : 0, write: WRITES.has(operation) ? units : 0 });
  }
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Starts dynalite (`factory(options)`) with every request metered into `meter`. */
export function meteredDynalite<O>(factory: (options: O) => Server, options: O, meter: PlatformMeter): Server {
  wrapIndexUpdates();
  const create = db.create;
  let store: object | undefined;
  db.create = (o) => {
    store = create(o);
    return store;
  };
  let server: Server;
  try {
    server = factory(options);
  } finally {
    db.create = create;
  }
  if (!store) throw new Error('dynalite created no store: cannot meter it');
  meters.set(store, meter);
  const handler = server.listeners('request')[0] as RequestHandler;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      let data: Record<string, unknown> = {};
      try {
        data = JSON.parse(body.toString()) as Record<string, unknown>;
        if (data.ReturnConsumedCapacity === undefined || data.ReturnConsumedCapacity === 'NONE') {
          data.ReturnConsumedCapacity = 'INDEXES';
          body = Buffer.from(JSON.stringify(data));
        }
      } catch {
        // Not JSON: dynalite answers it with its own error.
      }
      // dynalite reads the (rewritten) body as a stream with the request's headers, method and URL.
      const replay = Object.assign(Readable.from(body.length > 0 ? [body] : []), {
        headers: req.headers,
        method: req.method,
        url: req.url,
      }) as unknown as IncomingMessage;
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.end = ((...args: unknown[]) => {
        if (typeof args[0] === 'string') countAnswer(meter, operation, data, args[0]);
        return end(...args);
      }) as ServerResponse['end'];
      handler.call(server, replay, res);
    });
  });
  return server;
}
