import { branchNameReason, oddUnicodeReason, slugify } from '../../core/runs/text';

describe('branch names', () => {
  it.each(['main', 'feature/x', 'nightshift/01J-fix', 'release-1.2', 'a_b'])(
    'Given the branch name %s, When it is checked, Then it is accepted',
    (name) => {
      expect(branchNameReason(name)).toBeUndefined();
    },
  );

  it.each([
    ['', 'empty'],
    ['-rf', 'leading dash reads as an option'],
    ['--upload-pack=evil', 'option injection'],
    ['a..b', 'double dot'],
    ['a b', 'space'],
    ['a~1', 'tilde'],
    ['a^', 'caret'],
    ['a:b', 'colon'],
    ['a?', 'question mark'],
    ['a*', 'star'],
    ['a[', 'bracket'],
    ['a\\b', 'backslash'],
    ['a@{1}', 'reflog syntax'],
    ['/a', 'leading slash'],
    ['a/', 'trailing slash'],
    ['a//b', 'double slash'],
    ['a.', 'trailing dot'],
    ['.hidden', 'component starting with a dot'],
    ['x/.y', 'component starting with a dot'],
    ['a.lock', '.lock suffix'],
    ['HEAD', 'HEAD'],
    ['@', 'lone @'],
    ['é', 'non-ASCII'],
    ['a\u0000b', 'NUL'],
    ['x'.repeat(201), 'too long'],
  ])('Given the branch name %j (%s), When it is checked, Then it is refused', (name) => {
    expect(branchNameReason(name)).toEqual(expect.any(String));
  });
});

describe('free text', () => {
  it('Given ordinary prose in any script, with tabs and newlines, When it is checked, Then it is accepted', () => {
    expect(oddUnicodeReason('Fix the failing test\n\tin src/date.ts — ça marche, 日本語')).toBeUndefined();
  });

  it.each([
    ['bidi override (Trojan Source)', 'abc\u202Edef'],
    ['bidi isolate', 'a\u2066b'],
    ['NUL', 'a\u0000b'],
    ['escape', 'a\u001b[31mred'],
    ['zero-width space', 'a\u200Bb'],
    ['byte order mark', '\uFEFFabc'],
    ['unpaired surrogate', 'a\uD800b'],
  ])('Given free text with a %s, When it is checked, Then it is refused', (_label, text) => {
    expect(oddUnicodeReason(text)).toEqual(expect.any(String));
  });
});

describe('slugify', () => {
  it('Given a task prompt, When it is slugified, Then it is a short ASCII slug for branch names', () => {
    expect(slugify('Fix the failing date test in utils/date.ts!')).toBe('fix-the-failing-date-test-in-utils-date');
    expect(slugify('¿¿??')).toBe('task');
    expect(slugify('Ünïcödé tëxt')).toBe('unicode-text');
  });
});
