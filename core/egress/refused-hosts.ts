import { createReadStream } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { createInterface } from 'node:readline';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { RunnerEventLog } from '../store/ports';
import type { RunEvent } from '../runs/schemas';
import { parseAccessLogLine, summarizeRefusals, type AccessLogEntry, type RefusedHost } from './access-log';
import { PROXY_CHECK_HOST } from './squid-config';

/** Which requests belong to one run: its task's address (and, locally, its proxy port) within its time window. */
export interface RunTrafficWindow {
  /** The runner's private IP (AWS) or the loopback address (local mode). */
  readonly clientIp: string;
  /** Local mode: all runs share 127.0.0.1, so the repo's proxy port narrows it further. */
  readonly proxyPort?: number;
  readonly since: Date;
  readonly until: Date;
}

/** Where the proxy's access log is: a file (local mode) or the proxy service's CloudWatch log group. */
export type AccessLogSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'cloudwatch'; readonly logGroupName: string; readonly client?: CloudWatchLogsClient };

function inWindow(entry: AccessLogEntry, window: RunTrafficWindow): boolean {
  return (
    entry.clientIp === window.clientIp &&
    (window.proxyPort === undefined || entry.proxyPort === window.proxyPort) &&
    entry.at >= window.since &&
    entry.at <= window.until
  );
}

/** Reads a squid access log file (local mode). A missing file is an error: the proxy did not run. */
export async function refusedHostsFromFile(path: string, window: RunTrafficWindow): Promise<RefusedHost[]> {
  const entries: AccessLogEntry[] = [];
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    const entry = parseAccessLogLine(line);
    if (entry && inWindow(entry, window)) entries.push(entry);
  }
  return summarizeRefusals(entries, PROXY_CHECK_HOST);
}

/** CloudWatch Logs filter for one client's refusals; the fields are ACCESS_LOG_FORMAT's, in order. */
export function refusalFilterPattern(clientIp: string): string {
  if (!/^[0-9a-fA-F.:]{2,45}$/.test(clientIp)) throw new Error(`not an IP address: ${JSON.stringify(clientIp)}`);
  return `[tag="ns1", time, client="${clientIp}", proxyport, method, host, port, status="TCP_DENIED*", httpstatus, error, sent, received]`;
}

const MAX_PAGES = 50;

/**
 * Refusals for one run from the proxy's log group (awslogs driver, one event per line). The pattern
 * narrows the search on the service side; every line is parsed and checked again here. Log delivery
 * lags by a few seconds, so call this after the run's last network use, with `until` = now.
 */
export async function refusedHostsFromCloudWatch(client: CloudWatchLogsClient, logGroupName: string, window: RunTrafficWindow): Promise<RefusedHost[]> {
  const entries: AccessLogEntry[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await client.send(
      new FilterLogEventsCommand({
        logGroupName,
        startTime: window.since.getTime(),
        endTime: window.until.getTime(),
        filterPattern: refusalFilterPattern(window.clientIp),
        nextToken,
      }),
    );
    for (const event of out.events ?? []) {
      const entry = parseAccessLogLine(event.message ?? '');
      if (entry && inWindow(entry, window)) entries.push(entry);
    }
    nextToken = out.nextToken;
    if (!nextToken) return summarizeRefusals(entries, PROXY_CHECK_HOST);
  }
  throw new Error(`proxy log search for ${window.clientIp} did not finish within ${MAX_PAGES} pages`);
}

/** The one entry point the runner calls at the end of a run. */
export async function refusedHosts(source: AccessLogSource, window: RunTrafficWindow): Promise<RefusedHost[]> {
  if (source.kind === 'file') return refusedHostsFromFile(source.path, window);
  return refusedHostsFromCloudWatch(source.client ?? new CloudWatchLogsClient({}), source.logGroupName, window);
}

/**
 * The source named by the runner's environment: NIGHTSHIFT_PROXY_ACCESS_LOG (a file, local mode) or
 * NIGHTSHIFT_PROXY_LOG_GROUP (the proxy service's log group, set by the stack). Neither is an error.
 */
export function accessLogSourceFromEnv(env: NodeJS.ProcessEnv = process.env): AccessLogSource {
  const file = env.NIGHTSHIFT_PROXY_ACCESS_LOG;
  if (file) return { kind: 'file', path: file };
  const group = env.NIGHTSHIFT_PROXY_LOG_GROUP;
  if (group) return { kind: 'cloudwatch', logGroupName: group };
  throw new Error('set NIGHTSHIFT_PROXY_ACCESS_LOG (local) or NIGHTSHIFT_PROXY_LOG_GROUP (AWS) to find the proxy access log');
}

/**
 * This task's private IPv4 address as the proxy sees it. On Fargate (awsvpc) the task ENI's address is
 * the one non-loopback, non-link-local IPv4 address in the container.
 */
export function taskPrivateIp(interfaces = networkInterfaces()): string {
  const addresses = Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.'))
    .map((a) => a.address);
  const unique = [...new Set(addresses)];
  if (unique.length !== 1) throw new Error(`cannot tell the task's private IP among [${unique.join(', ')}]`);
  return unique[0]!;
}

/** At most this many hosts are recorded; a run that hammers thousands of names gets a count of the rest. */
export const MAX_REPORTED_HOSTS = 50;

/**
 * Writes one `egress_blocked` event for the run, listing the refused hosts (nothing when none were
 * refused). The runner puts the same list in the PR body's "Blocked hosts" section.
 */
export async function reportRefusedHosts(events: RunnerEventLog, runId: string, hosts: readonly RefusedHost[]): Promise<RunEvent | undefined> {
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
    'The egress proxy refused these hosts during the run. Add the ones the task needs to this repo\'s `egressAllow` in nightshift.config.json.',
    '',
    ...rows,
    '',
  ].join('\n');
}
