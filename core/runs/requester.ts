/**
 * An assumed-role caller's ARN ends in a session name the caller picks
 * (`arn:aws:sts::<account>:assumed-role/<Role>/<session>`). Budgets and filters key on the requester, so
 * a fresh session name would be a fresh per-requester daily budget; the role is the identity instead.
 */
const assumedRoleSession = /^(arn:[a-z-]+:sts::\d{12}:assumed-role\/[\w+=,.@-]+)\/[^/]+$/;

/** The identity a run is accounted to: an assumed-role session becomes its role; anything else is unchanged. */
export function requesterIdentity(caller: string): string {
  return assumedRoleSession.exec(caller)?.[1] ?? caller;
}
