import { createServer } from 'node:net';
import type { NightshiftConfig } from '../core/config/schema';
import { proxyPorts } from '../core/egress';

/**
 * Every loopback listener of local mode, placed from one base port (`PORT`, default 8787) so a
 * firewall rule, a port forward or a second platform can be planned:
 *
 *   PORT        the API and the web console
 *   PORT + 1    left free for `nightshift console` (its default 8788)
 *   PORT + 2    the local forge (GitHub's API and git)
 *   PORT + 3    the AWS stand-ins (Step Functions, ECS, Lambda)
 *   PORT + 4    dynalite (DynamoDB)
 *   PORT + 5    squid, the egress proxy's default port; repos with egressAllow get their own
 *               ports above it, up to PORT + 1005 (core/egress/ports.ts)
 *
 * `PORT=0` places every listener on a free port of its own (tests run several platforms at once).
 */
export interface LocalPorts {
  api: number;
  forge: number;
  awsEndpoints: number;
  dynamo: number;
  /** The proxy's base port (its default port); undefined: a random free block. */
  proxy: number | undefined;
}

export const PORT_OFFSETS = { api: 0, forge: 2, awsEndpoints: 3, dynamo: 4, proxy: 5 } as const;

/** What each listener is, in the words an error shows. */
export const LISTENER_NAMES: Record<keyof LocalPorts, string> = {
  api: 'the API and web console',
  forge: 'the local forge',
  awsEndpoints: 'the AWS stand-ins (Step Functions, ECS, Lambda)',
  dynamo: 'dynalite (DynamoDB)',
  proxy: 'squid, the egress proxy',
};

/** The highest base port whose whole block (the proxy's repo ports included) fits below 65536. */
export const MAX_BASE_PORT = 65_535 - PORT_OFFSETS.proxy - 1_000;

export function localPorts(base: number): LocalPorts {
  if (base === 0) return { api: 0, forge: 0, awsEndpoints: 0, dynamo: 0, proxy: undefined };
  if (!Number.isInteger(base) || base < 1024 || base > MAX_BASE_PORT)
    throw new Error(`PORT must be 0 (free ports) or a base port from 1024 to ${MAX_BASE_PORT}, not ${base}`);
  return {
    api: base,
    forge: base + PORT_OFFSETS.forge,
    awsEndpoints: base + PORT_OFFSETS.awsEndpoints,
    dynamo: base + PORT_OFFSETS.dynamo,
    proxy: base + PORT_OFFSETS.proxy,
  };
}

/** A listener's port is in use by another process. */
export class PortTakenError extends Error {
  constructor(
    readonly port: number,
    readonly listener: string,
    base: number,
  ) {
    super(
      `port ${port} (${listener}) is already in use, perhaps by another \`nightshift dev\`: stop what listens there (\`ss -ltnp 'sport = :${port}'\` shows it), or start with another base port, PORT=<n> (local mode uses PORT to PORT+${PORT_OFFSETS.proxy}; base ${base} now)`,
    );
    this.name = 'PortTakenError';
  }
}

function isAddressInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

/** Runs `listen`, turning EADDRINUSE into a PortTakenError that names the listener. */
export async function listenAs<T>(listener: keyof LocalPorts, port: number, base: number, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    if (isAddressInUse(error)) throw new PortTakenError(port, LISTENER_NAMES[listener], base);
    throw error;
  }
}

async function probe(port: number): Promise<'free' | 'taken'> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', (error) => (isAddressInUse(error) ? resolve('taken') : reject(error)));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve('free')));
  });
}

/**
 * Checks every fixed port before anything starts, so a taken one is one clear line at once rather
 * than a half-started platform. (The listeners map EADDRINUSE the same way for a port taken in between.)
 */
export async function assertPortsFree(
  ports: LocalPorts,
  base: number,
  config: Pick<NightshiftConfig, 'repos'>,
  withProxy: boolean,
): Promise<void> {
  const wanted: [keyof LocalPorts, number][] = [
    ['api', ports.api],
    ['forge', ports.forge],
    ['awsEndpoints', ports.awsEndpoints],
    ['dynamo', ports.dynamo],
  ];
  if (withProxy && ports.proxy !== undefined) for (const p of proxyPorts(config, ports.proxy)) wanted.push(['proxy', p.port]);
  for (const [listener, port] of wanted) {
    if (port === 0) continue;
    if ((await probe(port)) === 'taken') throw new PortTakenError(port, LISTENER_NAMES[listener], base);
  }
}
