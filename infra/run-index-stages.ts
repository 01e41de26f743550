import type { ListIndexMode } from '../adapters/dynamodb/run-list';
import { runsIndexes, runsListIndexes } from '../adapters/dynamodb/tables';

/**
 * The staged upgrade of the runs table's indexes (docs/data-model.md "Run list indexes"). CloudFormation
 * creates or deletes one GSI per table update, so a stack deployed with the four legacy ALL-projection
 * indexes reaches the eight KEYS_ONLY list indexes in steps, one deploy each:
 *   stage 0           the legacy indexes only (a stack from before the list indexes)
 *   stages 1..8       add one list index each, in runsListIndexes order; reads stay legacy
 *   stage 9           the list readers switch to the list indexes (no index change): run the backfill first
 *   stages 10..13     remove one legacy index each (byKind, byRepo, byRequester, byStatus)
 * A new stack is created at the final stage directly (a table is created with all its indexes at once).
 */
export const RUN_INDEX_STAGE_CONTEXT = 'nightshift:runIndexStage';

const listOrder = Object.values(runsListIndexes).map((index) => index.name);
const legacyRemovalOrder = [
  runsIndexes.byKind.name,
  runsIndexes.byRepo.name,
  runsIndexes.byRequester.name,
  runsIndexes.byStatus.name,
] as const;
const readSwitchStage = listOrder.length + 1;
export const RUN_INDEX_FINAL_STAGE = readSwitchStage + legacyRemovalOrder.length;

export interface RunIndexStage {
  stage: number;
  /** Legacy (ALL) runs indexes the table has at this stage. */
  legacy: string[];
  /** KEYS_ONLY list indexes the table has at this stage. */
  list: string[];
  /** Which indexes the list readers (the API's list, the run gauges) use. */
  reads: ListIndexMode;
}

export function runIndexStage(stage: number): RunIndexStage {
  if (!Number.isInteger(stage) || stage < 0 || stage > RUN_INDEX_FINAL_STAGE) {
    throw new Error(`${RUN_INDEX_STAGE_CONTEXT} must be an integer from 0 to ${RUN_INDEX_FINAL_STAGE}, not ${stage}`);
  }
  const removed = Math.max(0, stage - readSwitchStage);
  return {
    stage,
    legacy: Object.values(runsIndexes)
      .map((index) => index.name)
      .filter((name) => !legacyRemovalOrder.slice(0, removed).includes(name)),
    list: listOrder.slice(0, Math.min(stage, listOrder.length)),
    reads: stage >= readSwitchStage ? 'keys' : 'legacy',
  };
}

/** The stage from CDK context (`-c nightshift:runIndexStage=N`); the final stage when it is not given. */
export function runIndexStageFromContext(value: unknown): RunIndexStage {
  if (value === undefined) return runIndexStage(RUN_INDEX_FINAL_STAGE);
  const stage = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  return runIndexStage(stage);
}
