import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';
import { ModelProviderName } from '../core/config/schema';
import { ConverseResponse } from '../runner/model/converse-response';

/** NIGHTSHIFT_MODEL as local mode reads it at start: a provider name, or a replayed session's file. */
export type ModelChoice = { kind: 'provider'; name: ModelProviderName } | { kind: 'replay'; file: string };

const validValues = `${ModelProviderName.options.map((n) => `"${n}"`).join(', ')} or "replay:<file>"`;

/**
 * Parses NIGHTSHIFT_MODEL with the runner's choice (runner/model/select-provider.ts: a ModelProviderName
 * or `replay:<file>`), so a typo fails `nightshift dev` at start in one line instead of every run at its
 * start. For a replay, the file must be readable and its first response must parse as one (the runner
 * checks every line when it loads it).
 */
export function parseModelChoice(value: string): ModelChoice {
  if (value.startsWith('replay:')) {
    const path = value.slice('replay:'.length);
    if (path === '') throw new Error(`NIGHTSHIFT_MODEL=replay: needs a file: replay:<session.jsonl>`);
    const file = resolve(path);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(
        `NIGHTSHIFT_MODEL=${value}: cannot read the replayed session ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
    const lineIndex = text.split('\n').findIndex((l) => l.trim() !== '');
    if (lineIndex < 0) throw new Error(`NIGHTSHIFT_MODEL=${value}: the replayed session ${file} has no responses`);
    const line = text.split('\n')[lineIndex]!;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new Error(`NIGHTSHIFT_MODEL=${value}: line ${lineIndex + 1} of ${file} is not JSON (${(error as Error).message})`);
    }
    const parsed = ConverseResponse.safeParse(json);
    if (!parsed.success)
      throw new Error(
        `NIGHTSHIFT_MODEL=${value}: line ${lineIndex + 1} of ${file} is not a recorded model response (${z.prettifyError(parsed.error).replace(/\s*\n\s*/g, '; ')})`,
      );
    return { kind: 'replay', file };
  }
  const named = ModelProviderName.safeParse(value);
  if (!named.success) throw new Error(`NIGHTSHIFT_MODEL=${value} is not a model choice: use ${validValues} (docs/providers.md)`);
  return { kind: 'provider', name: named.data };
}

/**
 * The config's `model.provider` when it is anthropic or openai; `bedrock` when AWS credentials are
 * present; else nothing can serve a run: the choice is explicit.
 */
export function resolveModel(model: string | undefined, env: NodeJS.ProcessEnv, configFile: string): string | undefined {
  const configured = configuredModelProvider(configFile);
  // The runner would refuse a bad choice at every run's start: say so once, now, in one line.
  const choice = model ? parseModelChoice(model) : undefined;
  if (choice?.kind === 'provider' && configured && choice.name !== configured) {
    throw new Error(
      `NIGHTSHIFT_MODEL=${choice.name} but the config's model.provider is ${configured}: unset NIGHTSHIFT_MODEL or set model.provider (docs/providers.md)`,
    );
  }
  if (choice) return choice.kind === 'replay' ? `replay:${choice.file}` : choice.name;
  if (configured && configured !== 'bedrock') return configured;
  const hasCredentials = Boolean(
    env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_WEB_IDENTITY_TOKEN_FILE,
  );
  // No model: the platform still starts (the console, the forge, the API), and a submission says how to configure one.
  return hasCredentials ? 'bedrock' : undefined;
}

/** What a submission is told while local mode has no model to serve runs with. */
export const NO_MODEL_MESSAGE =
  'local mode has no model to run agents with: set model.provider to anthropic or openai in the config (docs/providers.md), start it with NIGHTSHIFT_MODEL=replay:<session.jsonl>, or provide AWS credentials for Bedrock (NIGHTSHIFT_MODEL=bedrock)';

/** `model.provider` of the config file, read without validating it (startLocalPlatform validates the whole file). */
function configuredModelProvider(configFile: string): string | undefined {
  try {
    const parsed = z
      .object({ model: z.object({ provider: z.string().default('bedrock') }) })
      .safeParse(JSON.parse(readFileSync(configFile, 'utf8')));
    return parsed.success ? parsed.data.model.provider : undefined;
  } catch {
    return undefined;
  }
}
