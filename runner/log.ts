import type { Redactor } from './redaction';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where log and metric lines go: stdout in the task (CloudWatch Logs), a buffer in tests. */
export type LineSink = (line: string) => void;

export const stdoutSink: LineSink = (line) => {
  process.stdout.write(`${line}\n`);
};

/** Structured JSON logs carrying the run id, redacted before they leave the process. */
export class RunnerLogger {
  constructor(
    private readonly runId: string,
    private readonly redactor: Redactor,
    private readonly sink: LineSink = stdoutSink,
  ) {}

  log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
    const entry = { level, time: new Date().toISOString(), service: 'nightshift-runner', runId: this.runId, message, ...fields };
    this.sink(this.redactor.redact(JSON.stringify(entry)));
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.log('info', message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.log('warn', message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.log('error', message, fields);
  }
}
