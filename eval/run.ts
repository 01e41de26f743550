import { Command, InvalidArgumentError } from 'commander';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { resolveModel } from '../local/model-choice';
import { grade } from './grader';
import { runEval } from './harness';
import { formatReport } from './report';
import { loadSuite } from './task-suite';

/**
 * `npm run eval` (docs/eval.md): the suite against the configured model provider, k trials a task,
 * and the report; `--replay <file>` runs it offline against a recorded session instead;
 * `--validate` grades every task's gold and empty patches (what `npm test` checks too).
 */
export const NO_PROVIDER_MESSAGE =
  'No model provider is configured, so there is nothing to measure. Live numbers need a model and its key: set model.provider (anthropic or openai, with apiKeySecret) in the config and ANTHROPIC_API_KEY or OPENAI_API_KEY in the environment, or provide AWS credentials for Bedrock (NIGHTSHIFT_MODEL=bedrock). Without one: `npm run eval -- --replay eval/replays/js-bug-failing-test.jsonl --tasks js-bug-failing-test` exercises the harness, and `npm run eval -- --validate` checks the suite. See docs/eval.md.';

const ModelBlock = z.object({ model: z.record(z.string(), z.unknown()).optional() });

/** The model block the eval's platforms use: the config's, or (offline, no config) a default one for pricing. */
export function evalModelChoice(
  env: NodeJS.ProcessEnv,
  replay: string | undefined,
): { model: string; modelConfig: Record<string, unknown> } | { error: string } {
  const configFile = resolve(env.NIGHTSHIFT_CONFIG ?? 'nightshift.config.json');
  let modelConfig: Record<string, unknown> = {
    id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  };
  if (existsSync(configFile)) {
    const parsed = ModelBlock.safeParse(JSON.parse(readFileSync(configFile, 'utf8')));
    if (!parsed.success) return { error: `${configFile}: ${z.prettifyError(parsed.error)}` };
    if (parsed.data.model) modelConfig = parsed.data.model;
  } else if (!replay)
    return {
      error: `${configFile} does not exist: the eval takes the model settings from it (NIGHTSHIFT_CONFIG names another). ${NO_PROVIDER_MESSAGE}`,
    };
  if (replay) return { model: `replay:${resolve(replay)}`, modelConfig };
  // A replay named in NIGHTSHIFT_MODEL is refused before local mode's own check of the file.
  const notLive = {
    error: 'NIGHTSHIFT_MODEL=replay:… is not a live provider: use --replay <file> (it serves every trial the same recorded session)',
  };
  if (env.NIGHTSHIFT_MODEL?.trim().startsWith('replay:')) return notLive;
  let model: string | undefined;
  try {
    model = resolveModel(env.NIGHTSHIFT_MODEL, env, configFile);
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (!model) return { error: NO_PROVIDER_MESSAGE };
  if (model.startsWith('replay:')) return notLive;
  return { model, modelConfig };
}

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('must be a whole number from 1 to 100');
  return n;
};

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('eval')
    .description('Measure the agent on the eval suite (docs/eval.md)')
    .option('-k, --k <n>', 'trials per task', positiveInt, 3)
    .option('--tasks <ids>', 'comma-separated task ids (default: all)')
    .option('--out <dir>', 'where the report and the recorded runs go (default eval-results/<time>)')
    .option('--replay <file>', 'serve every run from this recorded session instead of a live provider')
    .option('--validate', 'grade every task with its gold and with the empty patch, offline')
    .exitOverride();
  program.parse([...argv], { from: 'user' });
  const opts = program.opts<{ k: number; tasks?: string; out?: string; replay?: string; validate?: boolean }>();
  const tasks = loadSuite(
    opts.tasks
      ? opts.tasks
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
  );

  if (opts.validate) {
    let bad = 0;
    for (const loaded of tasks) {
      const gold = grade(loaded, { patch: loaded.goldPatch ?? '', asked: loaded.task.expect === 'ask' });
      const empty = grade(loaded, { patch: '', asked: false });
      const ok = gold.resolved && !empty.resolved;
      if (!ok) bad++;
      process.stdout.write(
        `${loaded.task.id}: gold ${gold.resolved ? 'resolves' : `does NOT resolve (${gold.reasons.join('; ')})`}, empty ${empty.resolved ? 'RESOLVES' : 'does not resolve'}\n`,
      );
    }
    return bad === 0 ? 0 : 1;
  }

  const choice = evalModelChoice(process.env, opts.replay);
  if ('error' in choice) {
    process.stderr.write(`${choice.error}\n`);
    return 2;
  }
  const outDir = resolve(opts.out ?? join('eval-results', new Date().toISOString().replace(/[:.]/g, '-')));
  mkdirSync(outDir, { recursive: true });
  process.stderr.write(`eval: ${tasks.length} task(s) × ${opts.k} with ${choice.model}; results in ${outDir}\n`);
  // The in-process handlers log to the console as a Lambda would: to a file, so stdout is the report.
  console.log = (...args: unknown[]) => appendFileSync(join(outDir, 'handlers.log'), `${args.map(String).join(' ')}\n`);
  const report = await runEval({
    tasks,
    k: opts.k,
    model: choice.model,
    modelConfig: choice.modelConfig,
    outDir,
    secretsFile: join(resolve(process.env.NIGHTSHIFT_HOME ?? '.nightshift'), 'secrets.json'),
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${formatReport(report)}\n\nreport: ${join(outDir, 'report.json')}\n`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('commander.')) {
        process.exitCode = err.code === 'commander.helpDisplayed' ? 0 : 2;
        return;
      }
      process.stderr.write(`eval failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
