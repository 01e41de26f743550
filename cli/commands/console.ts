import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../../core/config/load';
import { submitFormSettings, submitFormWithoutConfig } from '../../core/console/submit-form';
import type { StackConsole } from '../../console/server/stack-console';

/**
 * `nightshift console [--port N]`: the web console for a deployed stack (`--api` or NIGHTSHIFT_API),
 * served on 127.0.0.1. The page's API calls are signed with the default AWS credential chain (IAM auth),
 * or carry NIGHTSHIFT_TOKEN (JWT auth). Runs until interrupted.
 */
export interface ConsoleCommandContext {
  api: () => string | undefined;
  out: (text: string) => void;
  err: (text: string) => void;
  done: (exitCode: number) => void;
}

export interface StackConsoleSettings {
  api: string;
  port: number;
  env: NodeJS.ProcessEnv;
  warn?: (text: string) => void;
}

/** The console server for `settings.api`, with the submit form's allowlist from the local config file. */
export async function stackConsoleFor(settings: StackConsoleSettings): Promise<StackConsole> {
  let apiUrl: URL;
  try {
    apiUrl = new URL(settings.api);
  } catch {
    throw new Error(`the API URL ${JSON.stringify(settings.api)} is not a URL`);
  }
  if (apiUrl.protocol !== 'https:' && apiUrl.protocol !== 'http:') throw new Error(`the API URL must be http(s), not ${apiUrl.protocol}`);
  const configFile = resolve(settings.env.NIGHTSHIFT_CONFIG ?? 'nightshift.config.json');
  let form = submitFormWithoutConfig();
  if (existsSync(configFile)) form = submitFormSettings(loadConfig(configFile));
  else
    settings.warn?.(
      `no ${configFile}: the submit form offers no repositories (set NIGHTSHIFT_CONFIG to the file the stack was deployed with)`,
    );
  const token = settings.env.NIGHTSHIFT_TOKEN;
  // Loaded by this command only (the console server finds its page files beside its sources; see bin/bundles.js).
  const { startStackConsole } = require('../../console/server/stack-console') as typeof import('../../console/server/stack-console');
  const { sigV4Signer } = require('../sigv4') as typeof import('../sigv4');
  return startStackConsole({
    apiUrl,
    port: settings.port,
    ...form,
    ...(token ? { bearerToken: token } : { signer: await sigV4Signer({ apiUrl }) }),
  });
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be a port number (0 picks a free one)');
  return n;
}

export function registerConsoleCommand(program: Command, context: ConsoleCommandContext): Command {
  return program
    .command('console')
    .description('the web console for a deployed stack on 127.0.0.1, signing its API calls with your AWS credentials')
    .option('--port <port>', 'loopback port', port, 8788)
    .action(async (options: { port: number }) => {
      const api = context.api();
      if (!api) {
        context.err(
          'error: nightshift console is for a deployed stack: give --api <url> or NIGHTSHIFT_API. Local mode serves the console itself at http://127.0.0.1:8787/ (npm start).',
        );
        context.done(1);
        return;
      }
      const server = await stackConsoleFor({ api, port: options.port, env: process.env, warn: (text) => context.err(`warning: ${text}`) });
      context.out(`Nightshift console: ${server.url}/ (API ${new URL(api).origin}); Ctrl-C to stop`);
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await server.stop();
      context.done(0);
    });
}
