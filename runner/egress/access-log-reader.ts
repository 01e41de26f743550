import { createReadStream } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { createInterface } from 'node:readline';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  inRunTrafficWindow,
  parseAccessLogLine,
  PROXY_CHECK_HOST,
  refusalFilterPattern,
  summarizeRefusals,
  type AccessLogEntry,
  type RefusedHost,
  type RunTrafficWindow,
} from '../../core/egress';

/**
 * Reads the egress proxy's refusals of one run from where its access log is: a file (local mode) or
 * the proxy service's CloudWatch log group (AWS). Which entries are the run's is the domain's
 * (core/egress/refused-hosts.ts).
 */

/** Where the proxy's access log is: a file (local mode) or the proxy service's CloudWatch log group. */
export type AccessLogSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'cloudwatch'; readonly logGroupName: string; readonly client?: CloudWatchLogsClient };

/** Reads a squid access log file (local mode). A missing file is an error: the proxy did not run. */
export async function refusedHostsFromFile(path: string, window: RunTrafficWindow): Promise<RefusedHost[]> {
  const entries: AccessLogEntry[] = [];
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    const entry = parseAccessLogLine(line);
    if (entry && inRunTrafficWindow(entry, window)) entries.push(entry);
  }
  return summarizeRefusals(entries, PROXY_CHECK_HOST);
}

const MAX_PAGES = 50;

/**
 * Refusals for one run from the proxy's log group (awslogs driver, one event per line). The pattern
 * narrows the search on the service side; every line is parsed and checked again here. Log delivery
 * lags by a few seconds, so call this after the run's last network use, with `until` = now.
 */
export async function refusedHostsFromCloudWatch(
  client: CloudWatchLogsClient,
  logGroupName: string,
  window: RunTrafficWindow,
): Promise<RefusedHost[]> {
  // Loaded here, at the end of a run: not part of every runner start (runner/lazy-modules.md in docs/runner.md).
  const { FilterLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
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
      if (entry && inRunTrafficWindow(entry, window)) entries.push(entry);
    }
    nextToken = out.nextToken;
    if (!nextToken) return summarizeRefusals(entries, PROXY_CHECK_HOST);
  }
  throw new Error(`proxy log search for ${window.clientIp} did not finish within ${MAX_PAGES} pages`);
}

/** The one entry point the runner calls at the end of a run. */
export async function refusedHosts(source: AccessLogSource, window: RunTrafficWindow): Promise<RefusedHost[]> {
  if (source.kind === 'file') return refusedHostsFromFile(source.path, window);
  const client = source.client ?? new (await import('@aws-sdk/client-cloudwatch-logs')).CloudWatchLogsClient({});
  return refusedHostsFromCloudWatch(client, source.logGroupName, window);
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
