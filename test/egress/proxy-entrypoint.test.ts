import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../core/config/load';
import { checkProxy, parseAccessLogLine, squidConfig } from '../../core/egress';
import { connectVia } from './proxy-request';
import { squidOrSkip } from './squid-process';

const { describeWithSquid } = squidOrSkip();
const root = resolve(__dirname, '../..');

const config = parseConfig({
  repos: [{ name: 'acme/web' }],
  model: { id: 'anthropic.claude', prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 }, fargate: { vcpuHourUsd: 0.04, gbHourUsd: 0.004 } },
  github: { tokenSecret: 'nightshift/token' },
});

describeWithSquid('proxy/entrypoint.sh and proxy/healthcheck.sh (the container image scripts)', () => {
  it('runs squid from NIGHTSHIFT_SQUID_CONF, logs requests to stdout, is healthy, and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-entry-'));
    chmodSync(dir, 0o777);
    const runDir = join(dir, 'run');
    const basePort = 20_000 + Math.floor(Math.random() * 40_000);
    const conf = squidConfig(config, { region: 'eu-west-1', basePort, listenAddress: '127.0.0.1', accessLog: `stdio:${runDir}/access.pipe`, cacheLog: `${runDir}/cache.pipe`, pidFile: `${runDir}/squid.pid`, coredumpDir: dir });
    const child = spawn('bash', [join(root, 'proxy/entrypoint.sh')], {
      env: {
        PATH: `${process.env.PATH}:/usr/sbin`,
        NIGHTSHIFT_SQUID_CONF: conf,
        SQUID_CONF_FILE: join(dir, 'squid.conf'),
        SQUID_RUN_DIR: runDir,
        SQUID_SPOOL_DIR: join(dir, 'spool'),
        SQUID_SERVICE_NAME: `nsentry${randomBytes(4).toString('hex')}`,
        SQUID_USER: userInfo().uid === 0 ? 'proxy' : userInfo().username,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    // 'close': also the log copiers and squid's helpers, which share the stdio pipes, are gone.
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    try {
      const deadline = Date.now() + 20_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`entrypoint exited ${child.exitCode}: ${stderr}`);
        try {
          await checkProxy(`http://127.0.0.1:${basePort}`, { timeoutMs: 1_000, expectedPortName: 'default' });
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const health = spawnSync('bash', [join(root, 'proxy/healthcheck.sh'), String(basePort)], { encoding: 'utf8' });
      expect(health.status).toBe(0);
      const unhealthy = spawnSync('bash', [join(root, 'proxy/healthcheck.sh'), String(basePort + 999)], { encoding: 'utf8' });
      expect(unhealthy.status).not.toBe(0);

      expect((await connectVia(`http://127.0.0.1:${basePort}`, 'not-allowed.example:443')).status).toBe(403);
      const deadlineLog = Date.now() + 10_000;
      while (!stdout.includes('not-allowed.example') && Date.now() < deadlineLog) await new Promise((r) => setTimeout(r, 50));
      const line = stdout.split('\n').find((l) => l.includes('not-allowed.example'));
      expect(parseAccessLogLine(line ?? '')).toMatchObject({ host: 'not-allowed.example', squidStatus: 'TCP_DENIED' });
    } finally {
      child.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      expect(code).toBe(0);
    }
  });
});
