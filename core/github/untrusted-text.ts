/**
 * Text written on GitHub reaches the model only through these functions: hidden content is removed
 * (what a reviewer cannot see must not steer the agent) and what remains is fenced as data.
 */

// HTML comments render as nothing on GitHub; an unterminated one hides the rest of the text.
const htmlComment = /<!--[\s\S]*?(?:-->|$)/g;
// Zero-width characters, bidi embeddings/overrides/isolates and marks (Trojan Source), word joiners,
// invisible operators, BOM, interlinear annotations, tag characters; C0/C1 controls except tab and newline.
const hiddenCharacters =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters from untrusted text is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]|\uDB40[\uDC00-\uDC7F]/g;

/** The text with HTML comments, invisible and control characters removed, unpaired surrogates replaced, CRLF as LF. */
export function stripHiddenText(text: string): string {
  return text.toWellFormed().replace(/\r\n?/g, '\n').replace(htmlComment, '').replace(hiddenCharacters, '');
}

/**
 * `text` inside a fence the text itself cannot close: a line of backticks longer than any run of
 * backticks in it, labelled with who wrote it. The model is told (system prompt and preamble) that
 * fenced text is data from GitHub users, not instructions from the platform.
 */
export function fenceUntrusted(label: string, text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${label}\n${fence}text\n${text}\n${fence}`;
}

/** Cuts `text` to at most `max` characters (at a code point boundary), saying so. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 40)).toWellFormed()}\n[… truncated by Nightshift]`;
}
