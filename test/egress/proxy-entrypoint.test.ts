import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../core/config/load';
import { newRunnerProxyPassword, parseAccessLogLine, runnerProxyPasswordHash, squidConfig, withRunnerCredential } from '../../core/egress';
import { checkProxy } from '../../adapters/http/proxy-check';
import { connectVia } from './proxy-request';
import { squidOrSkip } from './squid-process';
import { minimalConfigFile } from '../support/minimal-config';

const { describeWithSquid } = squidOrSkip();
const root = resolve(__dirname, '../..');

const config = parseConfig(minimalConfigFile());

describeWithSquid('proxy/entrypoint.sh and proxy/healthcheck.sh (the container image scripts)', () => {
  it("Given the image scripts and a generated config, When the entrypoint starts squid from NIGHTSHIFT_SQUID_CONF, Then it logs requests to stdout, is healthy, keeps only the credential's hash, and stops cleanly on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-entry-'));
    chmodSync(dir, 0o777);
    const runDir = join(dir, 'run');
    const basePort = 20_000 + Math.floor(Math.random() * 40_000);
    // The helper where squid's user can run it, as the image has it in /usr/local/bin.
    const helper = join(dir, 'runner-auth.sh');
    copyFileSync(join(root, 'proxy/runner-auth.sh'), helper);
    chmodSync(helper, 0o755);
    const password = newRunnerProxyPassword();
    const conf = squidConfig(config, {
      region: 'eu-west-1',
      basePort,
      listenAddress: '127.0.0.1',
      accessLog: `stdio:${runDir}/access.pipe`,
      cacheLog: `${runDir}/cache.pipe`,
      pidFile: `${runDir}/squid.pid`,
      coredumpDir: dir,
      runnerAuth: { helper, hashFile: `${runDir}/runner-credential.sha256` },
    });
    const child = spawn('bash', [join(root, 'proxy/entrypoint.sh')], {
      env: {
        PATH: `${process.env.PATH}:/usr/sbin`,
        NIGHTSHIFT_SQUID_CONF: conf,
        NIGHTSHIFT_PROXY_PASSWORD: password,
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
      // The runner credential: only its hash is on disk, and it opens the AWS API hosts that nothing else can use.
      const stored = readFileSync(`${runDir}/runner-credential.sha256`, 'utf8');
      expect(stored.trim()).toBe(runnerProxyPasswordHash(password));
      expect(stored).not.toContain(password);
      expect((await connectVia(`http://127.0.0.1:${basePort}`, 'states.eu-west-1.amazonaws.com:443')).status).toBe(407);
      expect(
        (await connectVia(withRunnerCredential(`http://127.0.0.1:${basePort}`, password), 'states.eu-west-1.amazonaws.com:443')).status,
      ).not.toBe(407);
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

  it('Given a missing or ill-formed runner credential, When the entrypoint runs, Then it refuses to start, naming NIGHTSHIFT_PROXY_PASSWORD', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-entry-'));
    try {
      for (const password of [undefined, 'short', 'has spaces in it and is long enough to pass a length check']) {
        const run = spawnSync('bash', [join(root, 'proxy/entrypoint.sh')], {
          env: {
            PATH: `${process.env.PATH}:/usr/sbin`,
            NIGHTSHIFT_SQUID_CONF: '# empty',
            SQUID_CONF_FILE: join(dir, 'squid.conf'),
            SQUID_RUN_DIR: join(dir, 'run'),
            SQUID_SPOOL_DIR: join(dir, 'spool'),
            SQUID_USER: userInfo().username,
            ...(password ? { NIGHTSHIFT_PROXY_PASSWORD: password } : {}),
          },
          encoding: 'utf8',
          timeout: 10_000,
        });
        expect(run.status).not.toBe(0);
        expect(run.stderr).toMatch(/NIGHTSHIFT_PROXY_PASSWORD/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
