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

export const stderrLog = (): LocalLog => jsonLog((line) => process.stderr.write(`${line}\n`));

export const fileLog = (file: string): LocalLog => jsonLog((line) => appendFileSync(file, `${line}\n`));
