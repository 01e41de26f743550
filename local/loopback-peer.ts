import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import type { Socket } from 'node:net';

/**
 * Who is at the other end of a loopback TCP connection: the uid that owns the client's socket, as the
 * kernel lists it in /proc/net/tcp. Local mode has no credentials on loopback; this is the platform's
 * way to tell its operator from another OS user on the same machine, such as the user the agent's tools
 * run as (a tool command can reach 127.0.0.1 like anything else on the host).
 */

/** /proc/net/tcp spells an IPv4 address as the 32-bit word in host byte order, in hex. */
function hexAddress(ip: string): string | undefined {
  const parts = ip
    .replace(/^::ffff:/, '')
    .split('.')
    .map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  const bytes = endianness() === 'LE' ? [...parts].reverse() : parts;
  return bytes
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
}

function endpoint(ip: string, port: number): string | undefined {
  const address = hexAddress(ip);
  return address === undefined ? undefined : `${address}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

/**
 * The uid owning the socket whose local end is `client` and remote end `server`, from the text of
 * /proc/net/tcp; undefined when no such socket is listed (the client went away, or it is not local).
 */
export function peerUidFromTable(
  table: string,
  client: { address: string; port: number },
  server: { address: string; port: number },
): number | undefined {
  const local = endpoint(client.address, client.port);
  const remote = endpoint(server.address, server.port);
  if (!local || !remote) return undefined;
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
    if (fields.length < 8 || fields[1] !== local || fields[2] !== remote) continue;
    const uid = Number(fields[7]);
    return Number.isInteger(uid) && uid >= 0 ? uid : undefined;
  }
  return undefined;
}

/** Whether this system lists TCP sockets with their owners (Linux); elsewhere callers cannot be told apart. */
export function canIdentifyLoopbackPeers(): boolean {
  try {
    readFileSync('/proc/net/tcp', 'utf8');
    return true;
  } catch {
    return false;
  }
}

/** The uid of the process that opened the client end of `socket`, or undefined when it cannot be found. */
export function loopbackPeerUid(socket: Socket): number | undefined {
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || !remotePort || !localAddress || !localPort) return undefined;
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  return peerUidFromTable(table, { address: remoteAddress, port: remotePort }, { address: localAddress, port: localPort });
}

/**
 * The local API's caller check: only the operator (the OS user running the platform) and root may
 * call; any other uid, the agent's tool user first of all, is refused. Decided once per connection.
 */
export function operatorOnly(
  operatorUid: number,
  peerUid: (socket: Socket) => number | undefined = loopbackPeerUid,
): (socket: Socket) => string | undefined {
  const decided = new WeakMap<Socket, string | undefined>();
  return (socket) => {
    if (decided.has(socket)) return decided.get(socket);
    const uid = peerUid(socket);
    const refusal =
      uid === operatorUid || uid === 0
        ? undefined
        : uid === undefined
          ? 'local mode could not tell which OS user opened this connection'
          : `local mode answers only the OS user running it (uid ${operatorUid}); this connection is uid ${uid}'s`;
    decided.set(socket, refusal);
    return refusal;
  };
}
