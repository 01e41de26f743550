import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { recordedOutputs, runEval } from '../../eval/harness';
import { formatReport } from '../../eval/report';
import { loadSuite } from '../../eval/task-suite';

/**
 * `npm run eval` end to end without a live model: one task, its recorded session replayed through
 * the real local platform (state machine, runner process, forge), graded, recorded again, reported.
 */
const replay = resolve(__dirname, '../../eval/replays/js-bug-failing-test.jsonl');

describe('the eval harness with a recorded session', () => {
  let outDir: string;
  let logs: jest.SpyInstance;
  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), 'nightshift-eval-test-'));
    // in-process handlers log to the console as a Lambda would
    logs = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterAll(() => {
    logs.mockRestore();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('Given a recorded session, When the task is run k times, Then each branch is graded against the hidden tests, each run is saved as a replay and the report sums them', async () => {
    const tasks = loadSuite(['js-bug-failing-test']);
    const progress: string[] = [];
    const report = await runEval({
      tasks,
      k: 2,
      model: `replay:${replay}`,
      modelConfig: {
        id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
        maxOutputTokens: 4096,
        prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
        fargate: { vcpuHourUsd: 0, gbHourUsd: 0, vcpu: 1, memoryGb: 4 },
      },
      outDir,
      progress: (line) => progress.push(line),
    });

    expect(report.trials).toHaveLength(2);
    for (const trial of report.trials) {
      expect(trial).toMatchObject({
        taskId: 'js-bug-failing-test',
        ending: 'succeeded/pr_opened',
        turns: 4,
        toolCalls: 4,
        toolErrors: 0,
        edits: 1,
        editFailures: 0,
      });
      expect(trial.grade.resolved).toBe(true);
      expect(trial.grade.failToPass).toEqual({
        'slugify collapses runs of separators': 'pass',
        'slugify trims separators at both ends': 'pass',
      });
      // the transcript's usage, priced: 3,150 input, 340 output, 7,900 cache read, 3,350 cache write tokens
      expect(trial.tokens).toEqual({ input: 3_150, output: 340, cacheRead: 7_900, cacheWrite: 3_350 });
      // the run was recorded with the tool outputs its model saw
      expect(trial.replay).toBeDefined();
      expect(readFileSync(trial.replay!, 'utf8').trimEnd().split('\n')).toHaveLength(4);
      const outputs = recordedOutputs(trial.replay!);
      expect(outputs.tooluse_01).toContain(".replace(/[^a-z0-9]/g, '-')");
      expect(outputs.tooluse_03).toMatch(/^exit code 0/);
    }
    expect(report).toMatchObject({
      resolveRate: 1,
      passAt1: 1,
      passAtK: 1,
      endings: { 'succeeded/pr_opened': 2 },
      meanTurns: 4,
      toolErrorRate: 0,
      editFailureRate: 0,
    });
    expect(report.cacheReadShare).toBeCloseTo(7_900 / (3_150 + 7_900 + 3_350));
    expect(report.costUsd).toBeGreaterThan(0);
    expect(progress).toHaveLength(2);

    const text = formatReport(report);
    expect(text).toContain('resolve rate      100.0%');
    expect(text).toContain('pass@2');
    expect(text).toMatch(/js-bug-failing-test\s+2\/2/);
    expect(JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8'))).toMatchObject({ resolveRate: 1, k: 2 });
  }, 300_000);
});
