import { createServer, type Server } from 'node:net';
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { findSquid } from '../../local/egress-proxy';
import { localPorts, PORT_OFFSETS } from '../../local/ports';
import { cliBin, repoRoot, startDevProcess, stopDevProcess, type DevProcess } from './dev-process';
import { templateCacheDir, testHome } from './platform-harness';

async function listening(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A base port whose whole block is free now: each port of it bound and released. */
async function freeBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = [0, ...Object.values(PORT_OFFSETS)].map((offset) => base + offset);
    if ((await Promise.all(ports.map(async (p) => !(await listening(p))))).every(Boolean)) return base;
  }
  throw new Error('no free base port found');
}

function hold(port: number): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Local mode's listeners from one base port (PORT), and a clear error when one is taken (issue 16 item 7). */
describe('local mode ports', () => {
  const homes: string[] = [];
  afterAll(() => {
    for (const root of homes) rmSync(root, { recursive: true, force: true });
  });

  it('Given the base port, When the listeners are placed, Then each has its documented offset, and a base without room is refused', () => {
    expect(localPorts(8787)).toEqual({ api: 8787, forge: 8789, awsEndpoints: 8790, dynamo: 8791, proxy: 8792 });
    expect(localPorts(0)).toEqual({ api: 0, forge: 0, awsEndpoints: 0, dynamo: 0, proxy: undefined });
    expect(() => localPorts(65_000)).toThrow(/PORT must be 0 \(free ports\) or a base port from 1024 to 64530, not 65000/);
    expect(() => localPorts(80)).toThrow(/PORT must be/);
  });

  it('Given PORT=<base>, When nightshift dev starts, Then the API, forge, AWS stand-ins, dynalite and squid listen on PORT, +2, +3, +4, +5', async () => {
    const { home, configFile } = testHome();
    homes.push(home.root);
    const base = await freeBase();
    const dev: DevProcess = await startDevProcess({ home, configFile, env: { PORT: String(base) } });
    try {
      expect(dev.url).toBe(`http://127.0.0.1:${base}`);
      const ready = JSON.parse(
        dev
          .output()
          .split('\n')
          .find((l) => l.includes('"event":"ready"'))!,
      ) as { forge: string };
      expect(ready.forge).toBe(`http://127.0.0.1:${base + 2}`);
      for (const offset of [PORT_OFFSETS.awsEndpoints, PORT_OFFSETS.dynamo]) expect(await listening(base + offset)).toBe(true);
      if (findSquid()) expect(await listening(base + PORT_OFFSETS.proxy)).toBe(true);
    } finally {
      await stopDevProcess(dev.child);
    }
  }, 180_000);

  it('Given the forge port is taken, When nightshift dev starts, Then it exits 1 at once naming the port, the listener and PORT', async () => {
    const { home, configFile } = testHome();
    homes.push(home.root);
    const base = await freeBase();
    const taken = await hold(base + PORT_OFFSETS.forge);
    try {
      const result = spawnSync(process.execPath, [cliBin, 'dev'], {
        cwd: repoRoot,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          PORT: String(base),
          NIGHTSHIFT_HOME: home.root,
          NIGHTSHIFT_CONFIG: configFile,
          NIGHTSHIFT_CACHE_DIR: templateCacheDir,
        },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`error: port ${base + 2} (the local forge) is already in use, perhaps by another \`nightshift dev\``);
      expect(result.stderr).toContain('start with another base port, PORT=<n>');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
    }
  }, 120_000);
});
