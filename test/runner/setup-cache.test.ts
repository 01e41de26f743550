import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../core/config/load';
import type { NightshiftConfig } from '../../core/config/schema';
import { setupCacheKey, setupCacheObjectKey, type SetupCacheKeyInput } from '../../core/setup-cache';
import { createBareRepoFromDirectory } from '../../local/forge';
import { directorySetupCacheStore, presignedSetupCacheStore } from '../../runner/session/setup-cache';
import type { SetupCacheStore } from '../../runner/session/setup-cache-store';
import { session, startInProcessRun, startRunnerHarness, vendoredNpmProject, type RunnerHarness } from './support/runner-harness';
import { runnerFixture, testConfig } from '../support/test-config';

/**
 * The setup cache with a real npm install: the sample repository depends on a package of its own
 * (`file:vendor/greeting-1.0.0.tgz`, packed at test time, so no registry is needed), its setup is
 * `npm ci --offline`. The first run installs and saves; the next restores and skips the install.
 */

const REPO = 'demo/cached-app';
const SETUP = 'npm ci --offline --no-audit --no-fund';

/** The sample project depending on a package of its own, packed into vendor/. */
function cachedProject(root: string): string {
  const pkg = join(root, 'greeting-src');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'greeting', version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(pkg, 'index.js'), "exports.hello = () => 'hello from greeting';\n");
  return vendoredNpmProject(join(root, 'project'), [pkg]);
}

function cacheConfig(setup: string[] = [SETUP]): NightshiftConfig {
  const base = testConfig(runnerFixture());
  return parseConfig({ ...base, repos: [{ ...base.repos[0]!, name: REPO, setup }] });
}

describe('setup cache', () => {
  let h: RunnerHarness;
  let cacheDir: string;
  beforeAll(async () => {
    h = await startRunnerHarness();
    createBareRepoFromDirectory(h.forgeRoot, REPO, cachedProject(h.root));
  });
  afterAll(async () => h.stop());
  beforeEach(() => {
    cacheDir = mkdtempSync(join(tmpdir(), 'nightshift-setup-cache-'));
  });
  afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

  async function run(options: { config?: NightshiftConfig; store?: SetupCacheStore; secrets?: string[]; image?: string } = {}) {
    const created = await h.createRun({ repo: REPO, status: 'STARTING' });
    const store = options.store ?? directorySetupCacheStore(cacheDir, REPO);
    const { done } = startInProcessRun(h, created.runId, session('fix-failing-test'), {
      config: options.config ?? cacheConfig(),
      ...(options.secrets ? { secrets: options.secrets } : {}),
      deps: { keepWorkspace: true, setupCache: () => ({ store, image: options.image ?? 'test-image' }) },
    });
    const result = await done;
    const events = (await h.db.store.events.list(created.runId, { limit: 500 })).events;
    const workspace = join(h.root, 'work', created.runId, 'repo');
    return {
      ...result,
      events,
      workspace,
      setupCalls: events.filter((e) => e.type === 'tool_call' && e.message.startsWith('setup:')),
      cacheNotes: events.filter((e) => e.message.startsWith('setup cache:')).map((e) => e.message),
    };
  }

  const entries = () => (existsSync(join(cacheDir, 'setup-cache')) ? readdirSync(join(cacheDir, 'setup-cache', 'demo', 'cached-app')) : []);

  test('Given no cache entry, When a run sets up, Then it installs and saves; When the next run starts, Then it restores the install instead of running setup, and the dependency works', async () => {
    const first = await run();
    expect(first.end.kind).toBe('succeeded');
    expect(first.setupCalls).toHaveLength(1);
    expect(first.cacheNotes).toEqual([
      expect.stringMatching(/^setup cache: no entry/),
      expect.stringMatching(/^setup cache: saved \d+ files/),
    ]);
    expect(entries()).toHaveLength(1);

    const second = await run();
    expect(second.end.kind).toBe('succeeded');
    expect(second.setupCalls).toEqual([]);
    expect(second.cacheNotes).toEqual([expect.stringMatching(/^setup cache: restored .* the setup commands were not run$/)]);
    const hello = spawnSync(process.execPath, ['-p', "require('greeting').hello()"], { cwd: second.workspace, encoding: 'utf8' });
    expect(hello.stdout.trim()).toBe('hello from greeting');
    // Only what setup added, never the files the agent wrote in the run that saved it.
    const listed = spawnSync('tar', ['-tzf', join(cacheDir, 'setup-cache', 'demo', 'cached-app', entries()[0]!)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((f) => f.startsWith('node_modules/'))).toBe(true);
  });

  test('Given another image or other setup commands, When the run sets up, Then it is another key and the run installs again', async () => {
    await run();
    const otherImage = await run({ image: 'test-image-2' });
    expect(otherImage.setupCalls).toHaveLength(1);
    const otherCommands = await run({ config: cacheConfig([SETUP, 'echo done']) });
    expect(otherCommands.setupCalls).toHaveLength(2);
    expect(entries()).toHaveLength(3);
  });

  test('Given a failed setup, When the run ends, Then nothing is saved', async () => {
    const failing = await run({ config: cacheConfig([SETUP, 'exit 3']) });
    expect(failing.setupCalls).toHaveLength(2);
    expect(failing.cacheNotes.filter((n) => n.includes('saved'))).toEqual([]);
    expect(entries()).toEqual([]);
  });

  test('Given a setup that wrote a secret value into a file, When the run ends, Then nothing is saved', async () => {
    const secret = `CANARY-${Date.now()}-npm-token`;
    const leaky = await run({
      config: cacheConfig([SETUP, `printf '//registry/:_authToken=%s' "${secret}" > node_modules/.npmrc-copy`]),
      secrets: [secret],
    });
    expect(leaky.cacheNotes).toContainEqual(
      expect.stringMatching(/^setup cache: not saved, "node_modules\/.npmrc-copy" holds a secret value$/),
    );
    expect(entries()).toEqual([]);
  });

  test('Given presigned URLs (S3 on AWS), When the cache is read and written, Then a missing entry is a miss, and the PUT carries If-None-Match and never replaces an entry', async () => {
    const objects = new Map<string, Buffer>();
    const requests: string[] = [];
    const s3: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push(`${req.method} ${req.url} ${req.headers['if-none-match'] ?? ''}`);
        if (req.method === 'GET') {
          const body = objects.get(req.url!);
          res.writeHead(body ? 200 : 403).end(body);
        } else if (req.method === 'PUT') {
          if (req.headers['if-none-match'] === '*' && objects.has(req.url!)) return void res.writeHead(412).end();
          objects.set(req.url!, Buffer.concat(chunks));
          res.writeHead(200).end();
        } else res.writeHead(405).end();
      });
    });
    await new Promise<void>((r) => s3.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(s3.address() as AddressInfo).port}`;
    const store = presignedSetupCacheStore({
      readUrl: async (key) => `${base}/${setupCacheObjectKey(REPO, key)}`,
      writeUrl: async (key) => ({ url: `${base}/${setupCacheObjectKey(REPO, key)}`, headers: { 'if-none-match': '*' } }),
    });
    try {
      const first = await run({ store });
      expect(first.cacheNotes[1]).toMatch(/^setup cache: saved/);
      const second = await run({ store });
      expect(second.setupCalls).toEqual([]);
      expect(objects.size).toBe(1);
      const file = join(cacheDir, 'again.tar.gz');
      writeFileSync(file, 'not the entry');
      const key = [...objects.keys()][0]!.match(/([0-9a-f]{64})\.tar\.gz$/)![1]!;
      await expect(store.save(key, file)).resolves.toBe('exists');
      expect(requests.filter((r) => r.startsWith('PUT')).every((r) => r.endsWith(' *'))).toBe(true);
    } finally {
      await new Promise((r) => s3.close(r));
    }
  });
});

describe('setup cache key', () => {
  const base: SetupCacheKeyInput = {
    repo: 'acme/web',
    scope: 'base:main',
    lockfiles: { 'package-lock.json': 'a'.repeat(64) },
    setupCommands: ['npm ci'],
    image: 'img@1',
  };

  test('Given the inputs of an install, When its cache key is computed, Then it changes with each thing the install depends on, and only with those', () => {
    const key = setupCacheKey(base);
    expect(setupCacheKey({ ...base })).toBe(key);
    expect(setupCacheKey({ ...base, repo: 'ACME/Web' })).toBe(key);
    expect(setupCacheKey({ ...base, lockfiles: { 'package-lock.json': 'b'.repeat(64) } })).not.toBe(key);
    expect(setupCacheKey({ ...base, lockfiles: { ...base.lockfiles, 'yarn.lock': 'c'.repeat(64) } })).not.toBe(key);
    expect(setupCacheKey({ ...base, setupCommands: ['npm ci', 'npm run build'] })).not.toBe(key);
    expect(setupCacheKey({ ...base, image: 'img@2' })).not.toBe(key);
    // A continued branch runs its own code at setup: its entries are its own.
    expect(setupCacheKey({ ...base, scope: 'branch:feature' })).not.toBe(key);
    expect(setupCacheKey({ ...base, repo: 'acme/api' })).not.toBe(key);
  });

  test("Given a cache key, When its object key is made, Then it is under its repository's prefix, and nothing but a 64-hex key is accepted", () => {
    const key = setupCacheKey(base);
    expect(setupCacheObjectKey('Acme/Web', key)).toBe(`setup-cache/acme/web/${key}.tar.gz`);
    expect(() => setupCacheObjectKey('acme/web', '../../acme/api/x')).toThrow();
  });
});
