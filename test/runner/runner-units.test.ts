import { Conversation, cacheReadableShare, cachedPrefixShare } from '../../runner/model/conversation';
import { clearedOutputNote } from '../../runner/model/compaction';
import { isContextWindowError, ModelCallError } from '../../runner/model/model-errors';
import { converseRequestViolations } from '../../runner/model/request-rules';
import { Redactor } from '../../runner/redaction';
import { parseJunitXml, parseTestOutput, testDelta, type TestRunResult } from '../../runner/repo/test-results';
import { buildToolEnvironment } from '../../runner/isolation/tool-environment';
import { ProtectedPaths } from '../../runner/tools/protected-paths';
import { truncateForModel } from '../../runner/tools/model-output';
import { toolSpecs } from '../../runner/tools/definitions';

describe('test output parsing', () => {
  it.each([
    ['go', '=== RUN TestA\n--- PASS: TestA (0.00s)\n--- FAIL: TestB (0.01s)\n', { TestA: 'pass', TestB: 'fail' }],
    [
      'pytest',
      'tests/test_x.py::test_a PASSED\ntests/test_x.py::test_b FAILED\n',
      { 'tests/test_x.py::test_a': 'pass', 'tests/test_x.py::test_b': 'fail' },
    ],
    ['tap', 'ok 1 - works\nnot ok 2 - breaks\nok 3 - skipped # SKIP later\n', { works: 'pass', breaks: 'fail' }],
    ['jest', '  ✓ adds (3 ms)\n  ✕ subtracts (1 ms)\n', { adds: 'pass', subtracts: 'fail' }],
  ])('Given %s test output, When it is parsed, Then its results are read', (format, output, tests) => {
    expect(parseTestOutput(output)).toEqual({ format, tests });
  });

  it('Given JUnit XML or unknown output, When it is parsed, Then the XML is read and unknown output falls back to pass/fail', () => {
    expect(
      parseJunitXml(
        '<testsuite><testcase classname="a" name="ok &amp; fine"/><testcase name="bad"><failure/></testcase><testcase name="s"><skipped/></testcase></testsuite>',
      ),
    ).toEqual({ 'a › ok & fine': 'pass', bad: 'fail' });
    expect(parseTestOutput('all good\n')).toEqual({ format: 'none', tests: {} });
  });

  it('Given results at base and head, When their delta is taken, Then it names the newly passing, newly failing and still failing tests', () => {
    const r = (tests: TestRunResult['tests'], passed = false): TestRunResult => ({
      command: 't',
      passed,
      exitCode: passed ? 0 : 1,
      timedOut: false,
      tests,
      format: 'tap',
      output: '',
      durationMs: 1,
    });
    expect(testDelta(r({ a: 'fail', b: 'pass', c: 'fail' }), r({ a: 'pass', b: 'fail', c: 'fail', d: 'fail' }))).toEqual({
      newlyPassing: ['a'],
      newlyFailing: ['b', 'd'],
      stillFailing: ['c'],
    });
    expect(testDelta(r({}, false), r({}, true))).toEqual({ newlyPassing: ['t (whole command)'], newlyFailing: [], stillFailing: [] });
  });
});

describe('redaction', () => {
  it('Given known secrets, When output is redacted, Then the secrets, their encodings and token-shaped strings are removed', () => {
    const r = new Redactor();
    r.add('s3cr3t-value-123');
    r.add('short');
    const basic = Buffer.from('x-access-token:s3cr3t-value-123').toString('base64');
    const out = r.redact(`a s3cr3t-value-123 b ${basic} ghs_${'A'.repeat(36)} AKIAABCDEFGHIJKLMNOP short`);
    expect(out).toBe('a [REDACTED] b [REDACTED] [REDACTED] [REDACTED] short');
    expect(r.redactValue({ nested: ['s3cr3t-value-123'] })).toEqual({ nested: ['[REDACTED]'] });
  });
});

describe('tool environment', () => {
  it('Given the runner environment, When the tool environment is built, Then it comes from an allowlist: no AWS, metadata, token or unknown variables', () => {
    const env = buildToolEnvironment({
      home: '/w/home',
      user: 'nightshift-tool',
      proxyUrl: 'http://proxy:3128',
      runnerEnv: {
        PATH: '/usr/bin',
        AWS_SECRET_ACCESS_KEY: 'x',
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2',
        ECS_CONTAINER_METADATA_URI_V4: 'u',
        TASK_TOKEN: 't',
        GITHUB_TOKEN: 'g',
        FOO: 'bar',
        LANG: 'en_US.UTF-8',
      },
    });
    expect(Object.keys(env).sort()).toEqual(
      [
        'CI',
        'GIT_TERMINAL_PROMPT',
        'HOME',
        'HTTPS_PROXY',
        'HTTP_PROXY',
        'LANG',
        'LOGNAME',
        'NIGHTSHIFT',
        'NO_COLOR',
        'NO_PROXY',
        'PATH',
        'SHELL',
        'TERM',
        'TMPDIR',
        'USER',
        'http_proxy',
        'https_proxy',
        'no_proxy',
        'npm_config_https_proxy',
        'npm_config_proxy',
      ].sort(),
    );
    expect(env.HTTPS_PROXY).toBe('http://proxy:3128');
  });
});

describe('protected paths and truncation', () => {
  it('Given protected globs, When paths are matched, Then they match case-insensitively, including the protected directory itself', () => {
    const p = new ProtectedPaths(['.github/workflows/**', 'infra/*.tf']);
    expect(p.match('.github/workflows/ci.yml')).toBe('.github/workflows/**');
    expect(p.match('.GitHub/Workflows/deep/x.yml')).toBe('.github/workflows/**');
    expect(p.match('.github/workflows')).toBe('.github/workflows/**');
    expect(p.match('infra/main.tf')).toBe('infra/*.tf');
    expect(p.match('infra/mod/main.tf')).toBeUndefined();
    expect(p.match('src/.github/workflows.txt')).toBeUndefined();
  });

  it('Given long output, When it is truncated, Then its head and tail are kept with a note', () => {
    const out = truncateForModel('a'.repeat(10_000) + 'b'.repeat(10_000), 1_000);
    expect(out.startsWith('a'.repeat(600))).toBe(true);
    expect(out.endsWith('b'.repeat(400))).toBe(true);
    expect(out).toMatch(/\[\.\.\. 19000 characters truncated by the runner/);
  });
});

describe('conversation requests', () => {
  it('Given a conversation, When its request is built, Then maxTokens is always set and cache checkpoints follow the system prompt (whose prefix holds the tools) and the last two messages', () => {
    const c = new Conversation({ modelId: 'm', system: 'sys', tools: toolSpecs(), maxTokens: 4096, contextWindowTokens: 200_000 });
    c.addUser([{ text: 'task' }]);
    c.addAssistant([{ text: 'ok' }]);
    c.addUser([{ text: 'more' }]);
    const req = c.buildRequest();
    expect(req.inferenceConfig).toEqual({ maxTokens: 4096 });
    // no checkpoint after the tools: the system checkpoint's prefix already covers them
    expect(req.toolConfig!.tools!.some((t) => 'cachePoint' in t && t.cachePoint)).toBe(false);
    expect(req.toolConfig!.tools!.map((t) => t.toolSpec?.name).filter(Boolean)).toEqual([
      'shell',
      'read_file',
      'write_file',
      'edit_file',
      'list_files',
      'search',
      'finish',
      'ask_human',
    ]);
    expect(req.system!.at(-1)).toEqual({ cachePoint: { type: 'default' } });
    expect(req.messages!.map((m) => m.content!.some((b) => 'cachePoint' in b && b.cachePoint))).toEqual([false, true, true]);
    expect(cachedPrefixShare(req)).toBe(1);
    // the stored conversation has no checkpoints (they move with the tail)
    expect(c.messages.every((m) => m.content!.every((b) => !('cachePoint' in b && b.cachePoint)))).toBe(true);
  });

  it('Given a conversation over its window, When it is compacted, Then the oldest tool output is cleared in one cut to about half the window, naming the tool and its arguments, the recent messages whole', () => {
    const c = new Conversation({ modelId: 'm', system: 's', tools: [], maxTokens: 1_000, contextWindowTokens: 8_000 });
    c.addUser([{ text: 'task' }]);
    for (let i = 0; i < 6; i++) {
      c.addAssistant([{ toolUse: { toolUseId: `t${i}`, name: 'shell', input: { command: `cat big${i}.txt` } } }]);
      c.addUser([{ toolResult: { toolUseId: `t${i}`, content: [{ text: 'x'.repeat(6_000) }] } }]);
    }
    const req = c.buildRequest();
    const texts = req.messages!.flatMap((m) => m.content!.filter((b) => b.toolResult).map((b) => b.toolResult!.content![0]!.text));
    expect(texts[0]).toBe(
      '[output of shell command="cat big0.txt" cleared by the runner to keep the conversation inside the model window; run it again if you need it]',
    );
    expect(texts[0]).toBe(clearedOutputNote('shell', { command: 'cat big0.txt' }));
    expect(texts.at(-1)).toBe('x'.repeat(6_000));
    // one cut, as far as the four recent messages allow (two 6,000-character results stay whole)
    expect(c.compactions).toEqual([{ clearedResults: 4, clearedInputs: 0 }]);
    expect(texts.slice(0, 4).every((t) => t!.startsWith('[output of shell command="cat big'))).toBe(true);
    expect(texts.slice(4)).toEqual(['x'.repeat(6_000), 'x'.repeat(6_000)]);
    expect(c.estimateInputTokens(req)).toBeLessThan(8_000 - 1_000);
  });

  it('Given an overflow, When the conversation compacts after it, Then it cuts at once below what was refused, keeps every tool use paired with its result, and stays below after', () => {
    // the estimate thinks 200,000 tokens fit; the model refused far less
    const c = new Conversation({ modelId: 'm', system: 's', tools: toolSpecs(), maxTokens: 1_000, contextWindowTokens: 200_000 });
    c.addUser([{ text: 'task' }]);
    for (let i = 0; i < 6; i++) {
      c.addAssistant([{ text: `step ${i}` }, { toolUse: { toolUseId: `t${i}`, name: 'read_file', input: { path: `f${i}.txt` } } }]);
      c.addUser([{ toolResult: { toolUseId: `t${i}`, content: [{ text: 'x'.repeat(6_000) }] } }]);
    }
    const refused = c.size();
    const cut = c.compactAfterOverflow();
    expect(cut.clearedResults).toBeGreaterThan(0);
    expect(c.compactions).toEqual([cut]);
    expect(c.size()).toBeLessThan(refused);
    const req = c.buildRequest();
    expect(converseRequestViolations(req)).toEqual([]);
    // the learned limit holds: growing back towards what was refused cuts again before it gets there
    for (let i = 6; i < 12; i++) {
      c.addAssistant([{ toolUse: { toolUseId: `t${i}`, name: 'read_file', input: { path: `f${i}.txt` } } }]);
      c.addUser([{ toolResult: { toolUseId: `t${i}`, content: [{ text: 'x'.repeat(6_000) }] } }]);
      const next = c.buildRequest();
      expect(converseRequestViolations(next)).toEqual([]);
      expect(c.estimateInputTokens(next)).toBeLessThan(refused);
    }
    expect(c.compactions.length).toBeGreaterThan(1);
    // nothing left outside the recent messages: an overflow now clears nothing (the run then ends)
    const bare = new Conversation({ modelId: 'm', system: 's', tools: [], maxTokens: 1_000, contextWindowTokens: 200_000 });
    bare.addUser([{ text: 'task' }]);
    expect(bare.compactAfterOverflow()).toEqual({ clearedResults: 0, clearedInputs: 0 });
  });

  it('Given a model call error, When it is checked, Then a request refused as too long for the window is known from any provider', () => {
    expect(isContextWindowError(new ModelCallError('anthropic', 'context_window', 'prompt is too long', false, 400))).toBe(true);
    expect(isContextWindowError(new ModelCallError('openai', 'rejected', 'bad field', false, 400))).toBe(false);
    expect(isContextWindowError(Object.assign(new Error('Input is too long for requested model.'), { name: 'ValidationException' }))).toBe(
      true,
    );
    expect(isContextWindowError(Object.assign(new Error('Malformed input request'), { name: 'ValidationException' }))).toBe(false);
    expect(isContextWindowError('too long')).toBe(false);
  });

  it('Given a growing conversation, When requests are built turn after turn, Then the cached prefix is rewritten once per cut, not every turn', () => {
    const c = new Conversation({ modelId: 'm', system: 's', tools: [], maxTokens: 1_000, contextWindowTokens: 20_000 });
    c.addUser([{ text: 'task' }]);
    const requests: ReturnType<Conversation['buildRequest']>[] = [];
    for (let i = 0; i < 24; i++) {
      c.addAssistant([{ toolUse: { toolUseId: `t${i}`, name: 'write_file', input: { path: `f${i}.txt`, content: 'y'.repeat(1_500) } } }]);
      c.addUser([{ toolResult: { toolUseId: `t${i}`, content: [{ text: 'x'.repeat(3_000) }] } }]);
      // a copy: the conversation's stored messages change at a cut, a sent request does not
      requests.push(structuredClone(c.buildRequest()));
    }
    const shares = requests.slice(1).map((r, i) => cacheReadableShare(requests[i]!, r));
    const cuts = shares.filter((s) => s < 0.5).length;
    expect(cuts).toBe(c.compactions.length);
    // each cut frees a third of the window: about one cut every four turns here, never one per turn
    expect(c.compactions.length).toBeGreaterThanOrEqual(2);
    expect(cuts).toBeLessThan(shares.length / 3);
    // once the conversation is long, every request between cuts reads nearly all of its prefix from the cache
    const firstCut = shares.findIndex((s) => s < 0.5);
    expect(
      shares
        .slice(firstCut)
        .filter((s) => s >= 0.5)
        .every((s) => s > 0.8),
    ).toBe(true);
    // large old inputs were cleared too, with the size said
    const firstUse = requests.at(-1)!.messages![1]!.content![0]!.toolUse!;
    expect(firstUse.input).toEqual({ path: 'f0.txt', content: '[1500 characters cleared by the runner]' });
  });
});
