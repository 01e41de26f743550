import type { RunnerEventLog } from '../store/ports';
import type { RunEvent } from '../runs/schemas';
import type { AccessLogEntry, RefusedHost } from './access-log';

/*
 * The refusals of one run, as the domain sees them: which log entries are the run's, the CloudWatch
 * filter that finds them, and the event and PR section that report them. Reading the log (a file, or
 * the proxy's log group) is the runner's: runner/egress/access-log-reader.ts.
 */

/** Which requests belong to one run: its task's address (and, locally, its proxy port) within its time window. */
export interface RunTrafficWindow {
  /** The runner's private IP (AWS) or the loopback address (local mode). */
  readonly clientIp: string;
  /** Local mode: all runs share 127.0.0.1, so the repo's proxy port narrows it further. */
  readonly proxyPort?: number;
  readonly since: Date;
  readonly until: Date;
}

/** Whether an access log entry is one of the run's requests. */
export function inRunTrafficWindow(entry: AccessLogEntry, window: RunTrafficWindow): boolean {
  return (
    entry.clientIp === window.clientIp &&
    (window.proxyPort === undefined || entry.proxyPort === window.proxyPort) &&
    entry.at >= window.since &&
    entry.at <= window.until
  );
}

/** CloudWatch Logs filter for one client's refusals; the fields are ACCESS_LOG_FORMAT's, in order. */
export function refusalFilterPattern(clientIp: string): string {
  if (!/^[0-9a-fA-F.:]{2,45}$/.test(clientIp)) throw new Error(`not an IP address: ${JSON.stringify(clientIp)}`);
  return `[tag="ns1", time, client="${clientIp}", proxyport, method, host, port, status="TCP_DENIED*", httpstatus, error, sent, received]`;
}

/** At most this many hosts are recorded; a run that hammers thousands of names gets a count of the rest. */
export const MAX_REPORTED_HOSTS = 50;

/**
 * Writes one `egress_blocked` event for the run, listing the refused hosts (nothing when none were
 * refused). The runner puts the same list in the PR body's "Blocked hosts" section.
 */
export async function reportRefusedHosts(
  events: RunnerEventLog,
  runId: string,
  hosts: readonly RefusedHost[],
): Promise<RunEvent | undefined> {
  if (hosts.length === 0) return undefined;
  const shown = hosts.slice(0, MAX_REPORTED_HOSTS);
  const more = hosts.length - shown.length;
  const message = `egress proxy refused ${hosts.length} host${hosts.length === 1 ? '' : 's'}: ${shown
    .slice(0, 10)
    .map((h) => h.host)
    .join(', ')}${hosts.length > 10 ? ', …' : ''}`;
  return events.append(runId, 'egress_blocked', message, { hosts: shown, ...(more > 0 ? { notShown: more } : {}) });
}

/** The PR body's "Blocked hosts" section, or an empty string when nothing was refused. */
export function blockedHostsMarkdown(hosts: readonly RefusedHost[]): string {
  if (hosts.length === 0) return '';
  const shown = hosts.slice(0, MAX_REPORTED_HOSTS);
  const rows = shown.map((h) => `- \`${h.host}\` (${h.count} request${h.count === 1 ? '' : 's'})`);
  if (hosts.length > shown.length) rows.push(`- … and ${hosts.length - shown.length} more`);
  return [
    '### Blocked hosts',
    "The egress proxy refused these hosts during the run. Add the ones the task needs to this repo's `egressAllow` in nightshift.config.json.",
    '',
    ...rows,
    '',
  ].join('\n');
}
