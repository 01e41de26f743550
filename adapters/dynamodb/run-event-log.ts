import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { InvalidCursorError } from '../../core/errors';
import { RunEvent, RunEventType, RunId } from '../../core/runs/schemas';
import { decodeCursor, encodeCursor } from './cursor';
import type { EventQuery, RunEventLog } from '../../core/store/ports';
import { runIdGenerator } from '../../core/runs/run-id';
import { isConditionFailure } from './condition-failure';

const AppendInput = z.object({
  runId: RunId,
  type: RunEventType,
  message: z.string().max(4_000),
  detail: z.record(z.string(), z.unknown()).optional(),
});

const ListInput = z.object({ limit: z.number().int().min(1).max(1_000), cursor: z.string().optional() }).strict();
const EventCursor = z.object({ v: z.literal(1), runId: RunId, after: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/) }).strict();

/** Another writer (the runner and the orchestrator both append) drew the same seq: draw again, a few times. */
const maxSeqAttempts = 5;

/** Event seqs are ULIDs too, monotonic per writer, so a writer's events read back in the order it wrote them. */
const newSeq = runIdGenerator();

export function createRunEventLog(doc: DynamoDBDocumentClient, tableName: string, now: () => Date = () => new Date()): RunEventLog {
  async function append(runId: string, type: RunEventType, message: string, detail?: Record<string, unknown>): Promise<RunEvent> {
    const input = AppendInput.parse({ runId, type, message, detail });
    for (let attempt = 1; ; attempt += 1) {
      const event = RunEvent.parse({
        runId: input.runId,
        seq: newSeq(),
        at: now().toISOString(),
        type: input.type,
        message: input.message,
        ...(input.detail ? { detail: input.detail } : {}),
      });
      try {
        await doc.send(new PutCommand({ TableName: tableName, Item: event, ConditionExpression: 'attribute_not_exists(seq)' }));
        return event;
      } catch (error) {
        if (!isConditionFailure(error) || attempt >= maxSeqAttempts) throw error;
      }
    }
  }

  async function list(runId: string, query: EventQuery): Promise<{ events: RunEvent[]; nextCursor: string | null }> {
    const id = RunId.parse(runId);
    const { limit, cursor } = ListInput.parse(query);
    let after: string | undefined;
    if (cursor !== undefined) {
      const decoded = decodeCursor(cursor, EventCursor);
      if (decoded.runId !== id) throw new InvalidCursorError();
      after = decoded.after;
    }
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'runId = :runId',
        ExpressionAttributeValues: { ':runId': id },
        // The timeline reads oldest first, so `--follow` can resume from the last seq it saw.
        ScanIndexForward: true,
        Limit: limit,
        ConsistentRead: true,
        ...(after ? { ExclusiveStartKey: { runId: id, seq: after } } : {}),
      }),
    );
    const events = (page.Items ?? []).map((item) => RunEvent.parse(item));
    const last = events[events.length - 1];
    const nextCursor =
      page.LastEvaluatedKey && last ? encodeCursor({ v: 1, runId: id, after: last.seq } satisfies z.infer<typeof EventCursor>) : null;
    return { events, nextCursor };
  }

  return { append, list };
}
