import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RunNotFoundError } from '../../core/errors';
import { IllegalTransitionError, statusesAllowedBefore, terminalStatuses, type RunStatus } from '../../core/runs/lifecycle';
import type { RunPatch, RunRecord, RunRepository } from '../../core/store/ports';
import { RunPatch as RunPatchSchema } from '../../core/runs/run-record';
import { newRunItem, toRunRecord } from './run-item';
import { isConditionFailure } from './condition-failure';
import { statusIndexKeys } from '../../core/store/run-index-keys';

/** A run id that is already taken (create is conditional on the id being new). */
export class RunAlreadyExistsError extends Error {
  constructor(readonly runId: string) {
    super(`run ${runId} already exists`);
    this.name = 'RunAlreadyExistsError';
  }
}

interface UpdateParts {
  sets: string[];
  names: Record<string, string>;
  values: Record<string, unknown>;
}

function patchParts(patch: RunPatch): UpdateParts {
  const parsed = RunPatchSchema.parse(patch);
  const parts: UpdateParts = { sets: [], names: {}, values: {} };
  for (const [field, value] of Object.entries(parsed)) {
    if (value === undefined) continue;
    parts.sets.push(`#p_${field} = :p_${field}`);
    parts.names[`#p_${field}`] = field;
    parts.values[`:p_${field}`] = value;
  }
  return parts;
}

/** The run repository's writes and reads by id; the list is apart (`createListingRunRepository` in ./run-list). */
export function createRunRepository(doc: DynamoDBDocumentClient, tableName: string): RunRepository {
  async function get(runId: string): Promise<RunRecord | undefined> {
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { runId }, ConsistentRead: true }));
    return Item ? toRunRecord(Item) : undefined;
  }

  /**
   * Why a write to the run was refused, read again: the run is gone, or its status does not lead to
   * `to` (a patch leaves the status where it is).
   */
  async function refusal(runId: string, to?: RunStatus): Promise<Error> {
    const current = await get(runId);
    if (!current) return new RunNotFoundError(runId);
    return new IllegalTransitionError(runId, current.status, to ?? current.status);
  }

  /** One update of a run that exists and meets `condition` (` AND …`, or '' for nothing more): the run as written, or the refusal. */
  async function updateRun(runId: string, update: UpdateParts & { condition: string }, to?: RunStatus): Promise<RunRecord> {
    try {
      const { Attributes } = await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { runId },
          ConditionExpression: `attribute_exists(runId)${update.condition}`,
          UpdateExpression: `SET ${update.sets.join(', ')}`,
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: update.values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRunRecord(Attributes);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw await refusal(runId, to);
    }
  }

  async function create(run: RunRecord): Promise<void> {
    try {
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: newRunItem(run),
          ConditionExpression: 'attribute_not_exists(runId)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new RunAlreadyExistsError(run.runId);
      throw error;
    }
  }

  async function transition(runId: string, to: RunStatus, patch: RunPatch = {}): Promise<RunRecord> {
    const from = statusesAllowedBefore(to);
    if (from.length === 0) throw await refusal(runId, to);
    // The list indexes' status keys combine the status with repo and requester, which never change:
    // read them (a projection of two fields) so the transition rewrites those keys in its one write.
    const { Item: fixed } = await doc.send(
      new GetCommand({ TableName: tableName, Key: { runId }, ProjectionExpression: 'repo, requester' }),
    );
    if (!fixed) throw new RunNotFoundError(runId);
    const parts = patchParts(patch);
    for (const [field, value] of Object.entries(
      statusIndexKeys({ status: to, repo: String(fixed.repo), requester: String(fixed.requester) }),
    )) {
      parts.sets.push(`#k_${field} = :k_${field}`);
      parts.names[`#k_${field}`] = field;
      parts.values[`:k_${field}`] = value;
    }
    const fromValues = Object.fromEntries(from.map((status, i) => [`:from${i}`, status]));
    return updateRun(
      runId,
      {
        // The lifecycle edge is checked by DynamoDB against the stored status, so two racing
        // transitions cannot both leave the same state along edges the lifecycle does not have.
        condition: ` AND #status IN (${Object.keys(fromValues).join(', ')})`,
        sets: ['#status = :to', ...parts.sets],
        names: { '#status': 'status', ...parts.names },
        values: { ':to': to, ...fromValues, ...parts.values },
      },
      to,
    );
  }

  async function patchRun(
    runId: string,
    patch: RunPatch,
    options: { allowTerminal?: boolean; whileStatus?: RunStatus } = {},
  ): Promise<RunRecord> {
    const parts = patchParts(patch);
    if (parts.sets.length === 0) {
      const current = await get(runId);
      if (!current) throw new RunNotFoundError(runId);
      return current;
    }
    const terminalValues = Object.fromEntries(terminalStatuses.map((status, i) => [`:terminal${i}`, status]));
    const guard = options.whileStatus
      ? { condition: ' AND #status = :while', values: { ':while': options.whileStatus } }
      : options.allowTerminal
        ? { condition: '', values: {} }
        : { condition: ` AND NOT (#status IN (${Object.keys(terminalValues).join(', ')}))`, values: terminalValues };
    return updateRun(runId, {
      condition: guard.condition,
      sets: parts.sets,
      names: { ...parts.names, ...(guard.condition ? { '#status': 'status' } : {}) },
      values: { ...parts.values, ...guard.values },
    });
  }

  return {
    create,
    get,
    transition,
    patch: patchRun,
  };
}
