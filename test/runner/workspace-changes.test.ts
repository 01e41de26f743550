import { isScratchPath, isTestPath, parseStatusZ, unreferencedScratch } from '../../runner/repo/workspace-changes';

describe('workspace changes as the finish gate sees them', () => {
  it('Given git status --porcelain -z output, When it is parsed, Then every change is read, untracked files included', () => {
    expect(parseStatusZ(' M src/add.js\0?? debug.log\0 D test/old.test.js\0')).toEqual([
      { status: ' M', path: 'src/add.js' },
      { status: '??', path: 'debug.log' },
      { status: ' D', path: 'test/old.test.js' },
    ]);
    expect(parseStatusZ('')).toEqual([]);
  });

  it('Given paths across languages, When they are checked, Then test files are known and look-alikes are not', () => {
    for (const p of [
      'test/add.js',
      'src/__tests__/x.ts',
      'a/add.test.ts',
      'b/add.spec.js',
      'pkg/add_test.go',
      'tests/test_add.py',
      'test_add.py',
      'spec/models/user_spec.rb',
    ])
      expect({ p, test: isTestPath(p) }).toEqual({ p, test: true });
    for (const p of ['src/add.js', 'contest.js', 'src/testimony.md', 'latest/notes.md'])
      expect({ p, test: isTestPath(p) }).toEqual({ p, test: false });
  });

  it('Given new files, When the scratch rule applies, Then names that say scratch count, unless the summary names the file', () => {
    for (const p of [
      'debug.log',
      'out/run.out',
      'src/add.js.orig',
      'x.rej',
      'notes.md~',
      'scratch.py',
      'tmp_check.js',
      'repro.sh',
      'reproduce-issue.ts',
      'debug2.js',
    ])
      expect({ p, scratch: isScratchPath(p) }).toEqual({ p, scratch: true });
    for (const p of ['NOTES.md', 'src/debugger.ts', 'template.js', 'src/temperature.py', 'output.json', 'logger.ts'])
      expect({ p, scratch: isScratchPath(p) }).toEqual({ p, scratch: false });
    const changes = parseStatusZ('?? repro.sh\0?? debug.log\0 M scratch.py\0');
    expect(unreferencedScratch(changes, 'Added repro.sh as a regression script.')).toEqual(['debug.log']);
  });
});
