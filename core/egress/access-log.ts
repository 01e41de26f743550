import * as z from 'zod';

/**
 * The proxy's access-log line (squid `logformat nightshift`), space separated, one request a line:
 *   ns1 <unix time.ms> <client ip> <proxy port> <method> <host> <port> <squid status> <http status> <error> <bytes to client> <bytes from client>
 * e.g. `ns1 1795313985.660 10.0.1.23 3128 CONNECT example.org 443 TCP_DENIED 403 ERR_ACCESS_DENIED 3440 114`.
 * `ns1` versions the format so a parser never misreads another layout.
 */
export const ACCESS_LOG_FORMAT = 'ns1 %ts.%03tu %>a %>lp %rm %>rd %>rP %Ss %>Hs %err_code %<st %>st';

const Count = z.union([
  z.literal('-').transform(() => 0),
  z
    .string()
    .regex(/^\d{1,15}$/)
    .transform(Number),
]);

export const AccessLogEntry = z
  .object({
    at: z.date(),
    clientIp: z.string().regex(/^[0-9a-fA-F.:]{2,45}$/),
    proxyPort: z.number().int().min(1).max(65_535),
    method: z.string().regex(/^[A-Z_-]{1,20}$/),
    /** As squid saw it: a host name, an IPv4 address or a bracketed IPv6 address; `-` when the request had none. */
    host: z.string().min(1).max(255),
    port: z.number().int().min(0).max(65_535).nullable(),
    squidStatus: z.string().regex(/^[A-Z_]{1,40}$/),
    httpStatus: z.number().int().min(0).max(999),
    errorCode: z.string().max(300),
    bytesToClient: z.number(),
    bytesFromClient: z.number(),
  })
  .strict();
export type AccessLogEntry = z.infer<typeof AccessLogEntry>;

/** squid URL-escapes the logged host (`[::1]` is written `%5B::1%5D`). */
function decodeHost(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** One access-log line, or undefined when it is not an `ns1` line (squid's own notices, blank lines, garbage). */
export function parseAccessLogLine(line: string): AccessLogEntry | undefined {
  const fields = line.trim().split(/ +/);
  if (fields.length !== 12 || fields[0] !== 'ns1') return undefined;
  const [, time, clientIp, proxyPort, method, host, port, squidStatus, httpStatus, errorCode, toClient, fromClient] = fields as [
    string,
    ...string[],
  ];
  if (!/^\d{1,12}\.\d{3}$/.test(time!)) return undefined;
  const parsed = AccessLogEntry.safeParse({
    at: new Date(Math.round(Number(time) * 1000)),
    clientIp,
    proxyPort: Number(proxyPort),
    method,
    host: decodeHost(host!),
    port: port === '-' ? null : Number(port),
    squidStatus,
    httpStatus: Number(httpStatus),
    errorCode,
    bytesToClient: Count.parse(toClient),
    bytesFromClient: Count.parse(fromClient),
  });
  return parsed.success ? parsed.data : undefined;
}

const hostPattern = /^(\[[0-9a-fA-F:.]{2,45}\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}))$/;

/** A request squid refused by policy (not one that failed upstream). The health check's own redirect is not a refusal. */
export function isRefusal(entry: AccessLogEntry, checkHost: string): boolean {
  return entry.squidStatus.startsWith('TCP_DENIED') && entry.host.toLowerCase() !== checkHost;
}

export interface RefusedHost {
  /** `host` or `host:port` when the port is not the scheme's usual one; lower case. Safe to show: only host characters. */
  readonly host: string;
  readonly count: number;
  readonly firstAt: string;
}

/**
 * Refused hosts, most frequent first. Host text comes from the agent's own requests, so anything that
 * is not a plain host name or address is reported as `(malformed host)` rather than echoed.
 */
export function summarizeRefusals(entries: Iterable<AccessLogEntry>, checkHost: string): RefusedHost[] {
  const byHost = new Map<string, { count: number; firstAt: Date }>();
  for (const entry of entries) {
    if (!isRefusal(entry, checkHost)) continue;
    const host = hostPattern.test(entry.host) ? entry.host.toLowerCase() : '(malformed host)';
    const usualPort = entry.port === null || entry.port === 443 || (entry.port === 80 && entry.method !== 'CONNECT');
    const key = usualPort ? host : `${host}:${entry.port}`;
    const seen = byHost.get(key);
    if (!seen) byHost.set(key, { count: 1, firstAt: entry.at });
    else {
      seen.count += 1;
      if (entry.at < seen.firstAt) seen.firstAt = entry.at;
    }
  }
  return [...byHost.entries()]
    .map(([host, s]) => ({ host, count: s.count, firstAt: s.firstAt.toISOString() }))
    .sort((a, b) => b.count - a.count || (a.host < b.host ? -1 : 1));
}
