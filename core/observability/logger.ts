/**
 * The structured JSON logger of the Lambda handlers: one JSON object per line, with the fields
 * Powertools Logger wrote before it (level, message, timestamp, service, sampling_rate, the Lambda
 * context's cold_start, function_* and xray_trace_id), then the logger's persistent keys, then the
 * call's own. It replaced Powertools Logger for bundle size (issue 14: 24 KB of every handler); the
 * level is read from the same variables (POWERTOOLS_LOG_LEVEL, then AWS_LAMBDA_LOG_LEVEL, LOG_LEVEL).
 * Secrets are kept out by the callers, which never pass a token or a run key.
 */

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogAttributes = Record<string, unknown>;

/** The part of a Lambda invocation's context a log line names. */
export interface LogContext {
  functionName: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string | number;
  awsRequestId: string;
}

export interface StructuredLogger {
  debug(message: string, ...extra: (LogAttributes | Error)[]): void;
  info(message: string, ...extra: (LogAttributes | Error)[]): void;
  warn(message: string, ...extra: (LogAttributes | Error)[]): void;
  error(message: string, ...extra: (LogAttributes | Error)[]): void;
  /** A logger with this one's level, context and keys plus `persistentKeys`, on every line it writes. */
  createChild(options?: { persistentKeys?: LogAttributes }): StructuredLogger;
  /** Keys added to every later line of this logger (a run id once it is known). */
  appendKeys(keys: LogAttributes): void;
  /** The invocation's context on every later line (cold_start true on the first invocation of the instance). */
  addContext(context: LogContext): void;
  setLogLevel(level: LogLevel): void;
}

export interface LoggerOptions {
  serviceName: string;
  /** Default: the environment's (POWERTOOLS_LOG_LEVEL, AWS_LAMBDA_LOG_LEVEL, LOG_LEVEL), else INFO. */
  logLevel?: LogLevel;
  /** Where a line goes; default stdout for DEBUG and INFO, stderr for WARN and ERROR (as Powertools wrote them). */
  write?: (line: string, level: Exclude<LogLevel, 'SILENT'>) => void;
}

const rank: Record<LogLevel, number> = { DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, SILENT: 28 };

/** A level name from the environment, in any case; unknown names are ignored. */
export function logLevelOf(value: string | undefined): LogLevel | undefined {
  const upper = value?.trim().toUpperCase();
  if (upper === 'WARNING') return 'WARN';
  return (LOG_LEVELS as readonly string[]).includes(upper ?? '') ? (upper as LogLevel) : undefined;
}

function environmentLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  return logLevelOf(env.POWERTOOLS_LOG_LEVEL) ?? logLevelOf(env.AWS_LAMBDA_LOG_LEVEL) ?? logLevelOf(env.LOG_LEVEL) ?? 'INFO';
}

/** Where an error was thrown from: the first frame of its stack (`file.js:12`). */
function locationOf(stack: string | undefined): string {
  const frame = stack?.split('\n').find((l) => /^\s*at /.test(l));
  const match = frame ? /\(?([^\s()]+):(\d+):\d+\)?\s*$/.exec(frame) : null;
  return match ? `${match[1]}:${match[2]}` : '';
}

/** An Error as a log value: name, location, message, stack, cause and its own fields (JSON.stringify alone writes `{}`). */
export function formattedError(error: Error): LogAttributes {
  const { name, message, stack, cause, ...own } = error as Error & { cause?: unknown };
  return {
    name,
    location: locationOf(stack),
    message,
    stack,
    ...(cause === undefined ? {} : { cause: cause instanceof Error ? formattedError(cause) : cause }),
    ...own,
  };
}

function formatted(attributes: LogAttributes): LogAttributes {
  const out: LogAttributes = {};
  for (const [key, value] of Object.entries(attributes)) out[key] = value instanceof Error ? formattedError(value) : value;
  return out;
}

/** The instance's first invocation is its cold start; shared by every logger of the process. */
let invocations = 0;

function defaultWrite(line: string, level: Exclude<LogLevel, 'SILENT'>): void {
  (level === 'WARN' || level === 'ERROR' ? process.stderr : process.stdout).write(`${line}\n`);
}

interface LoggerState {
  serviceName: string;
  level: LogLevel;
  write: NonNullable<LoggerOptions['write']>;
  context: LogAttributes;
  keys: LogAttributes;
}

function loggerOf(state: LoggerState): StructuredLogger {
  const log = (level: Exclude<LogLevel, 'SILENT'>, message: string, extra: (LogAttributes | Error)[]) => {
    if (rank[level] < rank[state.level]) return;
    const traceId = /Root=([^;]+)/.exec(process.env._X_AMZN_TRACE_ID ?? '')?.[1];
    const line: LogAttributes = {
      level,
      message,
      timestamp: new Date().toISOString(),
      service: state.serviceName,
      ...state.context,
      sampling_rate: 0,
      ...(traceId ? { xray_trace_id: traceId } : {}),
      ...formatted(state.keys),
    };
    for (const item of extra) Object.assign(line, item instanceof Error ? { error: formattedError(item) } : formatted(item));
    state.write(JSON.stringify(line), level);
  };
  return {
    debug: (message, ...extra) => log('DEBUG', message, extra),
    info: (message, ...extra) => log('INFO', message, extra),
    warn: (message, ...extra) => log('WARN', message, extra),
    error: (message, ...extra) => log('ERROR', message, extra),
    createChild: (options = {}) =>
      loggerOf({ ...state, context: { ...state.context }, keys: { ...state.keys, ...options.persistentKeys } }),
    appendKeys(keys) {
      Object.assign(state.keys, keys);
    },
    addContext(context) {
      invocations++;
      state.context = {
        cold_start: invocations === 1,
        function_arn: context.invokedFunctionArn,
        function_memory_size: Number(context.memoryLimitInMB),
        function_name: context.functionName,
        function_request_id: context.awsRequestId,
      };
    },
    setLogLevel(level) {
      state.level = level;
    },
  };
}

export function createLogger(options: LoggerOptions): StructuredLogger {
  return loggerOf({
    serviceName: options.serviceName,
    level: options.logLevel ?? environmentLevel(),
    write: options.write ?? defaultWrite,
    context: {},
    keys: {},
  });
}
