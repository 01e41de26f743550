import { readFileSync, statSync } from 'node:fs';

/** Longest prompt the API accepts (docs/api.md#requests): read no more than a little past it, so a huge file fails fast. */
const MAX_PROMPT_BYTES = 20_000 * 4 + 1;

export class PromptSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptSourceError';
  }
}

export interface PromptInputs {
  /** Standard input, read to the end (only for `-`). */
  readStdin: () => Promise<string>;
  readFile?: (path: string) => string;
}

/**
 * The prompt argument of `submit`: the text itself, `-` for standard input, or `@path` for a file
 * (`@@text` for a prompt that starts with `@`). The API checks the text itself; this only reads it.
 */
export async function readPromptArgument(arg: string, inputs: PromptInputs): Promise<string> {
  if (arg === '-') {
    const text = await inputs.readStdin();
    if (text.trim() === '') throw new PromptSourceError('the prompt from standard input is empty');
    return text.replace(/\n$/, '');
  }
  if (arg.startsWith('@@')) return arg.slice(1);
  if (arg.startsWith('@')) {
    const path = arg.slice(1);
    if (path === '') throw new PromptSourceError('"@" must be followed by a file path (e.g. @task.md)');
    const read = inputs.readFile ?? readPromptFile;
    const text = read(path);
    if (text.trim() === '') throw new PromptSourceError(`the prompt file ${path} is empty`);
    return text.replace(/\n$/, '');
  }
  return arg;
}

function readPromptFile(path: string): string {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new PromptSourceError(`${path} is not a regular file`);
    size = stat.size;
  } catch (err) {
    if (err instanceof PromptSourceError) throw err;
    throw new PromptSourceError(`cannot read the prompt file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size > MAX_PROMPT_BYTES)
    throw new PromptSourceError(`the prompt file ${path} is ${size} bytes; a prompt is at most 20,000 characters`);
  return readFileSync(path, 'utf8');
}

/** Reads all of standard input (bounded like a prompt file). */
export function readStandardInput(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_PROMPT_BYTES) {
        stream.removeAllListeners('data');
        reject(new PromptSourceError('the prompt from standard input is longer than 20,000 characters'));
      }
    });
    stream.once('end', () => resolve(text));
    stream.once('error', reject);
  });
}
