import { appendFileSync } from 'node:fs';

/** Structured JSON log lines of the local platform (one object per line, with the run id where there is one). */
export interface LocalLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

type Sink = (line: string) => void;

export function jsonLog(sink: Sink): LocalLog {
  const write = (level: string, message: string, fields?: Record<string, unknown>) =>
    sink(JSON.stringify({ level, timestamp: new Date().toISOString(), service: 'nightshift-local', message, ...fields }));
  return {
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
  };
}

/** One field's value on a text line: strings as they are when plain, anything else as JSON. */
function fieldText(value: unknown): string {
  if (typeof value === 'string')
    return /^[^\s"=]{1,200}$/.test(value) ? value : JSON.stringify(value.length > 500 ? `${value.slice(0, 499)}…` : value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * The same log for a person at a terminal: `10:22:01 WARN  message  key=value …`, one line per entry
 * (`nightshift dev` without `--json`). Control characters are escaped by JSON.stringify in every field.
 */
export function textLog(sink: Sink, now: () => Date = () => new Date()): LocalLog {
  const write = (level: string, message: string, fields?: Record<string, unknown>) => {
    const time = now().toISOString().slice(11, 19);
    const extra = Object.entries(fields ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${fieldText(v)}`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a message may quote untrusted text; keep it on one line
    sink([`${time} ${level.padEnd(5)} ${message.replace(/[\u0000-\u001F\u007F]+/g, ' ')}`, ...extra].join('  '));
  };
  return {
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
  };
}

export const stderrLog = (format: 'json' | 'text' = 'json'): LocalLog =>
  (format === 'text' ? textLog : jsonLog)((line) => process.stderr.write(`${line}\n`));

export const fileLog = (file: string): LocalLog => jsonLog((line) => appendFileSync(file, `${line}\n`));
