/**
 * Markdown that GitHub renders without fetching anything outside the repository. Model-written text
 * (a PR summary, risks) could otherwise exfiltrate through the renderer: an image or an HTML `<img>`
 * makes GitHub's image proxy fetch a URL that can carry data in its path. So, outside code:
 * - every `<` is escaped, which disables raw HTML and `<url>` autolinks;
 * - image syntax `![` is escaped into literal text;
 * - links, reference definitions and bare URLs that leave the allowed prefixes become inert code
 *   spans (still readable, not clickable, never fetched);
 * - `@mentions` become code spans, so model text cannot notify people or teams.
 * Fenced code blocks and inline code are kept as they are: GitHub renders them as text.
 */
export interface InertMarkdownOptions {
  /** URL prefixes that stay links (the repository's own pages), compared case-insensitively. */
  allowedUrlPrefixes: readonly string[];
}

const FENCE = /^( {0,3})(`{3,}|~{3,})/;

export function inertMarkdown(text: string, options: InertMarkdownOptions): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let fence: { char: string; length: number } | undefined;
  for (const line of lines) {
    const opener = FENCE.exec(line);
    if (fence) {
      out.push(line);
      if (opener && opener[2]![0] === fence.char && opener[2]!.length >= fence.length && line.slice(opener[0].length).trim() === '')
        fence = undefined;
      continue;
    }
    if (opener) {
      fence = { char: opener[2]![0]!, length: opener[2]!.length };
      out.push(line);
      continue;
    }
    out.push(inertLine(line, options));
  }
  return out.join('\n');
}

/** One line outside fences: inline code spans kept, everything between them made inert. */
function inertLine(line: string, options: InertMarkdownOptions): string {
  // A reference definition ("[x]: http://…") would give an image or link its target: never a definition.
  const definition = /^( {0,3})\[([^\]]*)\]:/.exec(line);
  if (definition) line = `${definition[1]}\\[${definition[2]}\\]:${line.slice(definition[0].length)}`;
  let result = '';
  let rest = line;
  for (;;) {
    const open = /`+/.exec(rest);
    if (!open) return result + inertText(rest, options);
    const closeAt = rest.indexOf(open[0], open.index + open[0].length);
    if (closeAt === -1) return result + inertText(rest, options);
    result += inertText(rest.slice(0, open.index), options) + rest.slice(open.index, closeAt + open[0].length);
    rest = rest.slice(closeAt + open[0].length);
  }
}

const TARGET = String.raw`\(\s*<?([^)\s>]*)>?(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)`;
const IMAGE = new RegExp(String.raw`!\[([^\]]*)\]` + TARGET, 'g');
const LINK = new RegExp(String.raw`(?<!\\)\[([^\]]*)\]` + TARGET, 'g');
const BARE_URL = /\b(?:(?:https?|ftp|file|data|javascript):\/\/?|www\.)[^\s<>"'`)\]]+/gi;
const MENTION = /(^|[^\w@`/.-])@([a-z0-9](?:[a-z0-9-]{0,38})(?:\/[a-z0-9._-]+)?)/gi;

function inertText(text: string, options: InertMarkdownOptions): string {
  let s = text.replace(/</g, '&lt;');
  s = s.replace(IMAGE, (_whole, label: string, url: string) => `image ${codeSpan(label || 'without description')} (${codeSpan(url)})`);
  s = s.replace(/!\[/g, '!\\[');
  s = s.replace(LINK, (whole, label: string, url: string) =>
    url === '' || isAllowed(url, options) || isRelative(url) ? whole : `${label} (${codeSpan(url)})`,
  );
  s = replaceOutsideCode(s, BARE_URL, (url) => (isAllowed(url, options) ? url : codeSpan(url)));
  s = replaceOutsideCode(s, MENTION, (whole) => {
    const m = /^(.?)@(.*)$/s.exec(whole)!;
    return `${m[1]}${codeSpan(`@${m[2]}`)}`;
  });
  return s;
}

/** Applies `replace` to the matches of `pattern` that are not inside a code span created earlier. */
function replaceOutsideCode(text: string, pattern: RegExp, replace: (match: string) => string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(pattern, (m) => replace(m))))
    .join('');
}

function isRelative(url: string): boolean {
  // A path in the repository: no scheme, no protocol-relative host, no `www.` host.
  return !/^[a-z][a-z0-9+.-]*:/i.test(url) && !url.startsWith('//') && !/^www\./i.test(url) && !url.startsWith('\\');
}

function isAllowed(url: string, options: InertMarkdownOptions): boolean {
  const lower = url.toLowerCase();
  return options.allowedUrlPrefixes.some((prefix) => {
    const p = prefix.toLowerCase().replace(/\/+$/, '');
    return lower === p || lower.startsWith(`${p}/`) || lower.startsWith(`${p}#`) || lower.startsWith(`${p}?`);
  });
}

function codeSpan(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}
