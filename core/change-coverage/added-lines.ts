/**
 * The lines a change adds, per file, from a unified diff as `git diff` prints it (any context size,
 * `-U0` is enough): for each file its path after the change and the new-side line numbers of the
 * `+` lines. Deleted files and binary files add no lines. Paths git quoted (C-style, for unusual
 * characters) are unquoted.
 */
export function addedLines(diff: string): Map<string, number[]> {
  const added = new Map<string, number[]>();
  let file: number[] | undefined;
  let next = 0;
  let inHunk = false;
  for (const line of diff.split('\n')) {
    if (line.startsWith('diff --git ')) {
      file = undefined;
      inHunk = false;
    } else if (!inHunk && line.startsWith('+++ ')) {
      const path = diffPath(line.slice(4));
      file = path === undefined ? undefined : (added.get(path) ?? []);
      if (path !== undefined && file) added.set(path, file);
    } else if (line.startsWith('@@ ')) {
      const m = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
      inHunk = m !== null;
      next = m ? Number(m[1]) : 0;
    } else if (inHunk && file) {
      if (line.startsWith('+')) file.push(next++);
      else if (line.startsWith(' ')) next++;
      else if (!line.startsWith('-') && !line.startsWith('\\')) inHunk = false;
    }
  }
  for (const [path, lines] of added) if (lines.length === 0) added.delete(path);
  return added;
}

/** `b/src/x.js` → `src/x.js`; `/dev/null` (a deleted file) → undefined. */
function diffPath(raw: string): string | undefined {
  const text = raw.replace(/\t.*$/, '');
  if (text === '/dev/null') return undefined;
  const path = text.startsWith('"') ? unquote(text) : text;
  return path.startsWith('b/') ? path.slice(2) : path;
}

/** git's C-style quoting: `\"`, `\\`, `\t`, `\n` and octal bytes of UTF-8. */
function unquote(quoted: string): string {
  const body = quoted.slice(1, quoted.endsWith('"') ? -1 : undefined);
  const bytes: number[] = [];
  const escapes: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '"': 34, '\\': 92 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const octal = /^[0-7]{3}/.exec(body.slice(i + 1));
    if (octal) {
      bytes.push(Number.parseInt(octal[0], 8));
      i += 3;
    } else {
      const e = body[i + 1] ?? '';
      bytes.push(escapes[e] ?? e.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
