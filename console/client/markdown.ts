import { el, type Child } from './dom';

/**
 * A safe subset of Markdown for model-written text (PR bodies): headings, paragraphs, block quotes,
 * lists, fenced code, inline code and bold, built as elements and text nodes. Links and images are not
 * followed or loaded: a link shows its text and its address as text. No HTML in the input is ever
 * interpreted; `<script>` stays the nine characters it is.
 */
export function renderMarkdown(source: string): HTMLElement {
  const root = el('div', { class: 'markdown' });
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    const fence = /^\s*(```|~~~)/.exec(line);
    if (fence) {
      const code: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trim().startsWith(fence[1]!)) code.push(lines[i++]!);
      i++;
      root.appendChild(el('pre', {}, el('code', {}, code.join('\n'))));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      // Headings inside a page that already has h1/h2: start at h3.
      const level = Math.min(6, heading[1]!.length + 2) as 3 | 4 | 5 | 6;
      root.appendChild(el(`h${level}`, {}, ...inline(heading[2]!)));
      i++;
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i]!)) quoted.push(lines[i++]!.replace(/^\s*>\s?/, ''));
      root.appendChild(el('blockquote', {}, renderMarkdown(quoted.join('\n'))));
      continue;
    }
    const bullet = /^\s*([-*+]|\d+[.)])\s+/;
    if (bullet.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = el(ordered ? 'ol' : 'ul', {});
      while (i < lines.length && bullet.test(lines[i]!)) list.appendChild(el('li', {}, ...inline(lines[i++]!.replace(bullet, ''))));
      root.appendChild(list);
      continue;
    }
    const paragraph: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '' && !/^(#{1,6}\s|\s*>|\s*([-*+]|\d+[.)])\s|\s*(```|~~~))/.test(lines[i]!))
      paragraph.push(lines[i++]!);
    root.appendChild(el('p', {}, ...inline(paragraph.join(' '))));
  }
  return root;
}

const NAMED_REFERENCES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: '\u00a0' };

/**
 * Markdown's escapes outside code, as a renderer reads them: character references (`&lt;`, `&#60;`,
 * `&#x3c;`) and backslash escapes of punctuation (`\[`). PR bodies use both to keep model-written text
 * inert on GitHub (core/text/inert-markdown.ts). The result goes into a text node, so a decoded `<`
 * is just a character.
 */
export function unescapeMarkdown(text: string): string {
  return text.replace(
    /\\([!-/:-@[-`{-~])|&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,6});/gi,
    (whole, punctuation: string | undefined, reference: string | undefined) => {
      if (punctuation !== undefined) return punctuation;
      const ref = reference!;
      if (ref.startsWith('#')) {
        const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '\ufffd';
      }
      return NAMED_REFERENCES[ref.toLowerCase()] ?? whole;
    },
  );
}

/** Inline code (kept literal), bold, and links shown as "text (address)"; everything else is text. */
function inline(text: string): Child[] {
  const out: Child[] = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|(?<!\\)\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) out.push(unescapeMarkdown(text.slice(last, match.index)));
    if (match[1] !== undefined) out.push(el('code', {}, match[1]));
    else if (match[2] !== undefined) out.push(el('strong', {}, unescapeMarkdown(match[2])));
    else out.push(unescapeMarkdown(`${match[3]} (${match[4]})`));
    last = match.index + match[0].length;
  }
  if (last < text.length) out.push(unescapeMarkdown(text.slice(last)));
  return out;
}
