import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The console's files: one HTML page, one script and one stylesheet. The script is bundled from
 * console/client/*.ts by esbuild when a console server starts (a few tens of milliseconds), so
 * `npm start` and `nightshift console` need no build step; nothing built is committed.
 */
export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
  /** A strong ETag: the content's hash. */
  etag: string;
}

export interface ConsoleAssets {
  /** The page, for `/` and every client-side route. */
  page: ConsoleAsset;
  /** By path: `/console.js`, `/console.css`. */
  files: ReadonlyMap<string, ConsoleAsset>;
}

const clientDir = join(__dirname, '..', 'client');

function asset(body: Buffer | string, contentType: string): ConsoleAsset {
  const buffer = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return { body: buffer, contentType, etag: `"${createHash('sha256').update(buffer).digest('base64url').slice(0, 27)}"` };
}

let built: Promise<ConsoleAssets> | undefined;

/** Builds the console once per process; every server of the process shares the result. */
export function consoleAssets(): Promise<ConsoleAssets> {
  built ??= buildConsoleAssets().catch((error: unknown) => {
    built = undefined;
    throw error;
  });
  return built;
}

async function buildConsoleAssets(): Promise<ConsoleAssets> {
  // Loaded on demand: esbuild is only needed by a process that serves the console.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(clientDir, 'main.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    platform: 'browser',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const script = result.outputFiles[0];
  if (!script) throw new Error('esbuild produced no console bundle');
  return {
    page: asset(readFileSync(join(clientDir, 'index.html')), 'text/html; charset=utf-8'),
    files: new Map([
      ['/console.js', asset(Buffer.from(script.contents), 'text/javascript; charset=utf-8')],
      ['/console.css', asset(readFileSync(join(clientDir, 'console.css')), 'text/css; charset=utf-8')],
    ]),
  };
}
