import type { AuthConfig, RepoConfig } from '../config/schema';
import { requesterIdentity } from './requester';

/**
 * Who may see and act on which runs (docs/api.md#authorization). Pure: the caller is what the platform's
 * authorizer established (an IAM principal, JWT claims, local mode's OS user), never a payload field.
 *
 *   - a caller sees, follows and cancels its own runs (run.requester = its requester identity);
 *   - a principal of `auth.admins` sees and acts on every run;
 *   - a repo with `requesters` takes runs from those principals alone (admins included only if listed);
 *   - anything else is answered as if the run did not exist.
 *
 * Roles: an IAM role entry (`arn:…:iam::<acct>:role/<path>/<name>`, or its requester spelling
 * `arn:…:sts::<acct>:assumed-role/<name>`) matches every session of that role, whatever session name
 * the caller chose; the path does not appear in session ARNs, and a role name is unique in its account.
 * Session ARNs cannot be listed at all (the config refuses them): a session name is caller-chosen.
 */

/** The authenticated caller of one request. */
export interface Caller {
  /** The identity runs are accounted to: an IAM ARN (a role for its sessions), `jwt:<sub>`, `local:<user>`. */
  requester: string;
  /** JWT groups of the caller (empty for IAM and local callers). */
  groups: readonly string[];
}

/** The decision inputs of one request: who calls, and whether it is an admin. */
export interface RunAccess {
  caller: Caller;
  admin: boolean;
}

const roleInIam = /^arn:(aws(?:-[a-z]+)*):iam::(\d{12}):role\/(?:[^/]+\/)*([^/]+)$/;
const roleInSts = /^arn:(aws(?:-[a-z]+)*):sts::(\d{12}):assumed-role\/([^/]+)$/;

/** One spelling per principal: a role as partition/account/name, anything else as written. */
function principalKey(principal: string): string {
  const role = roleInIam.exec(principal) ?? roleInSts.exec(principal);
  return role ? `role\n${role[1]}\n${role[2]}\n${role[3]}` : `id\n${principal}`;
}

/** Whether `caller` is one of `entries` (config principals: ARNs, `group:`, `jwt:`, `local:`). */
export function callerMatches(caller: Caller, entries: readonly string[]): boolean {
  // The requester is already an assumed role's role (core/runs/requester.ts); normalising again is harmless.
  const mine = principalKey(requesterIdentity(caller.requester));
  const groups = new Set(caller.groups);
  return entries.some((entry) => (entry.startsWith('group:') ? groups.has(entry.slice('group:'.length)) : principalKey(entry) === mine));
}

export function runAccess(auth: Pick<AuthConfig, 'admins'>, caller: Caller): RunAccess {
  return { caller, admin: callerMatches(caller, auth.admins) };
}

/** Seeing a run, its events, and acting on it (cancel): its requester, or an admin. */
export function maySeeRun(access: RunAccess, run: { requester: string }): boolean {
  return access.admin || run.requester === access.caller.requester;
}

/**
 * The requester filter a run list must apply, decided before the query: an admin lists what it asked
 * for; anyone else only its own runs. `none` when a caller asks for someone else's runs (an empty page,
 * without a query).
 */
export function listScope(access: RunAccess, requestedRequester: string | undefined): { requester?: string } | 'none' {
  const asked = requestedRequester === undefined ? undefined : requesterIdentity(requestedRequester);
  if (access.admin) return asked === undefined ? {} : { requester: asked };
  if (asked !== undefined && asked !== access.caller.requester) return 'none';
  return { requester: access.caller.requester };
}

/** The caller may not submit to this repo (`repos[].requesters`): HTTP 403. */
export class RequesterNotAllowedError extends Error {
  constructor(readonly repo: string) {
    super(`you may not submit runs to ${repo} (repos[].requesters)`);
    this.name = 'RequesterNotAllowedError';
  }
}

/** Whether the caller may submit to `repo`; a repo without `requesters` takes every caller. */
export function maySubmitTo(caller: Caller, repo: Pick<RepoConfig, 'requesters'>): boolean {
  return repo.requesters === undefined || callerMatches(caller, repo.requesters);
}
