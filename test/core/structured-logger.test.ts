import { createLogger, logLevelOf, type LogLevel } from '../../core/observability/logger';

/** A logger whose lines are kept, parsed, with the level each was written at. */
function capturing(logLevel: LogLevel = 'INFO') {
  const lines: { level: string; line: Record<string, unknown> }[] = [];
  const logger = createLogger({
    serviceName: 'nightshift-test',
    logLevel,
    write: (line, level) => lines.push({ level, line: JSON.parse(line) as Record<string, unknown> }),
  });
  return { logger, lines };
}

describe('the structured JSON logger of the Lambda handlers', () => {
  it('Given a child logger carrying a run id in an invocation, When it logs, Then the line is one JSON object with the Powertools fields, then the persistent keys, then the call’s own', () => {
    // Given a child logger carrying a run id, in an invocation
    const { logger, lines } = capturing();
    const child = logger.createChild({ persistentKeys: { runId: '01J0000000000000000000000A' } });
    child.addContext({
      functionName: 'admit',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:1:function:admit',
      memoryLimitInMB: '512',
      awsRequestId: 'req-1',
    });

    // When it logs a decision
    child.info('admission', { decision: 'admitted', queuePosition: undefined });

    // Then the line has the level, message, service, context and keys, in that order, and no undefined field
    expect(lines).toHaveLength(1);
    const { line } = lines[0]!;
    expect(Object.keys(line)).toEqual([
      'level',
      'message',
      'timestamp',
      'service',
      'cold_start',
      'function_arn',
      'function_memory_size',
      'function_name',
      'function_request_id',
      'sampling_rate',
      'runId',
      'decision',
    ]);
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'admission',
      service: 'nightshift-test',
      function_memory_size: 512,
      function_request_id: 'req-1',
      runId: '01J0000000000000000000000A',
      decision: 'admitted',
    });
    expect(Number.isNaN(Date.parse(line.timestamp as string))).toBe(false);
  });

  it('Given a parent and a child logger, When keys are added, Then a child’s keys stay off its parent, and keys appended later are on every later line', () => {
    const { logger, lines } = capturing();
    const child = logger.createChild({ persistentKeys: { requestId: 'r-1' } });
    child.appendKeys({ runId: 'run-1' });
    child.info('submitted');
    logger.info('parent');
    expect(lines.map((l) => [l.line.requestId, l.line.runId])).toEqual([
      ['r-1', 'run-1'],
      [undefined, undefined],
    ]);
  });

  it('Given an error with a code and a cause, When it is logged, Then it is written as name, message, location and stack, not as {}', () => {
    const { logger, lines } = capturing();
    const err = Object.assign(new Error('DynamoDB is down', { cause: new TypeError('socket hang up') }), { code: 'ECONNRESET' });
    logger.error('scheduled submission failed', { error: err });
    logger.warn('direct', err);
    const [first, second] = lines.map((l) => l.line.error as Record<string, unknown>);
    expect(first).toMatchObject({
      name: 'Error',
      message: 'DynamoDB is down',
      code: 'ECONNRESET',
      cause: { name: 'TypeError', message: 'socket hang up' },
    });
    expect(first!.location).toMatch(/structured-logger\.test\.ts:\d+$/);
    expect(first!.stack).toContain('DynamoDB is down');
    expect(second).toMatchObject({ name: 'Error', message: 'DynamoDB is down' });
    expect(lines.map((l) => l.level)).toEqual(['ERROR', 'WARN']);
  });

  it("Given a logger's level, When it logs below it, Then nothing is written; SILENT writes nothing; a child takes its parent’s level", () => {
    const { logger, lines } = capturing('WARN');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.createChild().info('child info');
    logger.setLogLevel('SILENT');
    logger.error('e');
    expect(lines.map((l) => l.line.message)).toEqual(['w']);
  });

  it('Given a level name from the environment, When it is read, Then any case is accepted and an unknown one ignored', () => {
    expect(logLevelOf('debug')).toBe('DEBUG');
    expect(logLevelOf(' Warning ')).toBe('WARN');
    expect(logLevelOf('verbose')).toBeUndefined();
    expect(logLevelOf(undefined)).toBeUndefined();
  });
});
