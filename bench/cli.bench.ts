import '../core/polyfills';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { startBenchPlatform } from './bench-platform';
import { runWhenMain } from './run-main';

/**
 * CLI start: `nightshift --help` and `nightshift runs` (against local mode holding no runs) through
 * bin/nightshift.js in a fresh Node process, from spawn to exit, median of 10 after one warm-up start
 * (the first start after a source change builds the CLI bundle, bin/bundles.js). `node -e 0` on the
 * same machine at the same time is printed beside them: what any Node program pays to start.
 */
const samples = 10;
const bin = join(__dirname, '..', 'bin', 'nightshift.js');

/** Spawn to exit of one command; asynchronous, so the local platform in this process keeps answering. */
function timeOnce(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`)),
    );
  });
}

async function timeStart(args: string[], env: NodeJS.ProcessEnv): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i <= samples; i++) {
    const ms = await timeOnce(args, env);
    if (i > 0) times.push(ms);
  }
  return times.sort((a, b) => a - b);
}

const median = (xs: number[]) =>
  `median ${xs[Math.floor(xs.length / 2)]!.toFixed(0)} ms (min ${xs[0]!.toFixed(0)}, max ${xs.at(-1)!.toFixed(0)})`;

async function main(): Promise<void> {
  const bench = await startBenchPlatform('cli');
  try {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, NIGHTSHIFT_API: bench.platform.url };
    const node = await timeStart(['-e', '0'], env);
    const help = await timeStart([bin, '--help'], env);
    const runs = await timeStart([bin, 'runs'], env);
    console.log(`(load average ${loadavg()[0]!.toFixed(1)})`);
    console.log(`nightshift --help: ${median(help)} over ${samples} starts`);
    console.log(`nightshift runs (local mode): ${median(runs)} over ${samples} starts`);
    console.log(`node -e 0 (Node's own start, for reference): ${median(node)}`);
  } finally {
    await bench.stop();
  }
}

runWhenMain(module, main);
