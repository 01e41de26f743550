import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as z from 'zod';
import type { NightshiftConfig } from '../core/config/schema';
import type { LocalLog } from './local-log';

/**
 * The synthesized CloudFormation template local mode runs from: the state machine definition, the API
 * routes and the handler of each function come out of it, so offline runs what `cdk synth` produces.
 * Synthesis takes seconds, so the template is cached under $NIGHTSHIFT_HOME/cache, keyed by a hash of
 * everything it depends on (the infra and core sources, the configuration, the CDK version).
 */

const Template = z.object({ Resources: z.record(z.string(), z.object({ Type: z.string() }).passthrough()) }).passthrough();
export type SynthesizedTemplate = z.infer<typeof Template>;

/** Directories whose sources decide what the template contains. */
const sourceDirs = ['infra', 'core', 'adapters'];

function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const name of readdirSync(abs).sort()) {
      const path = join(abs, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|json)$/.test(name)) out.push(path);
    }
  };
  walk(join(root, dir));
  return out.map((p) => relative(root, p));
}

export function templateCacheKey(repoRoot: string, config: NightshiftConfig): string {
  const hash = createHash('sha256');
  const cdkVersion = (JSON.parse(readFileSync(require.resolve('aws-cdk-lib/package.json'), 'utf8')) as { version: string }).version;
  hash.update(`aws-cdk-lib@${cdkVersion}\n`);
  hash.update(`config ${JSON.stringify(config)}\n`);
  for (const dir of sourceDirs) {
    for (const file of sourceFiles(repoRoot, dir)) {
      hash.update(`${file}\n`);
      hash.update(readFileSync(join(repoRoot, file)));
    }
  }
  return hash.digest('hex').slice(0, 32);
}

export interface TemplateOptions {
  repoRoot: string;
  config: NightshiftConfig;
  cacheDir: string;
  log: LocalLog;
}

/**
 * The cached template names the handler modules the platform loads and the state machine it runs, so
 * the cache directory must be the platform's alone (NIGHTSHIFT_CACHE_DIR may point anywhere, /tmp too).
 */
function assertPrivateCacheDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  const self = process.getuid?.() ?? stat.uid;
  if (!stat.isDirectory() || stat.uid !== self || (stat.mode & 0o022) !== 0) {
    throw new Error(
      `the template cache ${dir} must be a directory of uid ${self} that no one else can write (mode ${(stat.mode & 0o7777).toString(8)}, uid ${stat.uid})`,
    );
  }
}

export async function synthesizedTemplate(
  options: TemplateOptions,
): Promise<{ template: SynthesizedTemplate; cached: boolean; key: string }> {
  assertPrivateCacheDir(options.cacheDir);
  const key = templateCacheKey(options.repoRoot, options.config);
  const cacheFile = join(options.cacheDir, `template-${key}.json`);
  try {
    const template = Template.parse(JSON.parse(readFileSync(cacheFile, 'utf8')));
    return { template, cached: true, key };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      options.log.warn('template cache unreadable; synthesizing again', { file: cacheFile, error: (error as Error).message });
  }
  const started = Date.now();
  const template = await synthesize(options.config);
  mkdirSync(options.cacheDir, { recursive: true });
  // Written then renamed, so a concurrent start never reads half a file.
  const partial = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(template));
  renameSync(partial, cacheFile);
  for (const old of readdirSync(options.cacheDir)) {
    if (old.startsWith('template-') && old !== `template-${key}.json` && old.endsWith('.json'))
      rmSync(join(options.cacheDir, old), { force: true });
  }
  options.log.info('synthesized the stack for local mode', { ms: Date.now() - started, key });
  return { template, cached: false, key };
}

async function synthesize(config: NightshiftConfig): Promise<SynthesizedTemplate> {
  const previous = process.env.CDK_VALIDATION;
  // Local mode needs the template only: no cfn-guard/cdk-nag validation, no Lambda bundling, no image build.
  process.env.CDK_VALIDATION = 'false';
  const outdir = mkdtempSync(join(tmpdir(), 'nightshift-synth-'));
  try {
    // Loaded only on a cache miss: the CDK is a large module graph. require, not import(): under tsx's
    // CommonJS hooks a dynamic import() goes to Node's ESM loader, which cannot load TypeScript.
    const { createApp, STACK_NAME } = require('../infra/create-app') as typeof import('../infra/create-app');
    const ecs = require('aws-cdk-lib/aws-ecs') as typeof import('aws-cdk-lib/aws-ecs');
    const { app } = createApp({
      config,
      nag: false,
      runnerImage: ecs.ContainerImage.fromRegistry('nightshift-runner:local'),
      appProps: { outdir, context: { 'aws:cdk:bundling-stacks': [] } },
    });
    const assembly = app.synth();
    return Template.parse(assembly.getStackByName(STACK_NAME).template);
  } finally {
    if (previous === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previous;
    rmSync(outdir, { recursive: true, force: true });
  }
}
