import type { RunStatus } from '../runs/lifecycle';

/**
 * The derived partition keys of the composite list indexes (adapters/dynamodb/tables.ts runsListIndexes),
 * computed from the fields they combine. The run repository writes them on create and with every
 * status change (repo and requester never change), and the backfill (adapters/dynamodb/run-index-backfill.ts)
 * on items written before they existed. Parts are joined by `#` after escaping `%` and `#` in each, so
 * two different combinations never share a key whatever a requester or repo holds.
 */
export interface RunIndexKeys {
  repoStatus: string;
  requesterStatus: string;
  requesterRepo: string;
  requesterRepoStatus: string;
}

export const runIndexKeyNames = [
  'repoStatus',
  'requesterStatus',
  'requesterRepo',
  'requesterRepoStatus',
] as const satisfies readonly (keyof RunIndexKeys)[];

function joinKey(...parts: string[]): string {
  return parts.map((part) => part.replaceAll('%', '%25').replaceAll('#', '%23')).join('#');
}

export function runIndexKeys(run: { status: RunStatus; repo: string; requester: string }): RunIndexKeys {
  return {
    repoStatus: joinKey(run.repo, run.status),
    requesterStatus: joinKey(run.requester, run.status),
    requesterRepo: joinKey(run.requester, run.repo),
    requesterRepoStatus: joinKey(run.requester, run.repo, run.status),
  };
}

/** The partition value of a list index for the given filters (the same function as the stored keys). */
export function listPartitionValue(filters: { status?: RunStatus; repo?: string; requester?: string }): string {
  return joinKey(...[filters.requester, filters.repo, filters.status].filter((part): part is string => part !== undefined));
}

/** The derived keys that hold the status: a transition rewrites these (not `requesterRepo`). */
export function statusIndexKeys(run: {
  status: RunStatus;
  repo: string;
  requester: string;
}): Pick<RunIndexKeys, 'repoStatus' | 'requesterStatus' | 'requesterRepoStatus'> {
  const { requesterRepo: _unchanged, ...rest } = runIndexKeys(run);
  return rest;
}
