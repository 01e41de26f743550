/**
 * Checks on free text and names that come from outside (API bodies, webhooks, config).
 * Model-written code runs next to company credentials, so names that reach git or a shell are strict.
 */

// C0/C1 controls other than tab, LF, CR; bidi embeddings/overrides/isolates (Trojan Source); BOM and
// other invisible format characters that hide text from a reviewer.
const oddCharacter =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters in untrusted text is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\uFFF9-\uFFFB]/u;

/** Why a piece of free text is refused, or undefined when it is acceptable. */
export function oddUnicodeReason(text: string): string | undefined {
  if (!text.isWellFormed()) return 'contains an unpaired UTF-16 surrogate';
  const m = oddCharacter.exec(text);
  if (m) return `contains the invisible or control character U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return undefined;
}

/**
 * Why `name` is not a branch name git would accept (git check-ref-format --branch rules), plus our own:
 * no leading `-` (it would read as an option), printable ASCII only.
 */
export function branchNameReason(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 200) return 'is longer than 200 characters';
  if (!/^[\x21-\x7E]+$/.test(name)) return 'must be printable ASCII without spaces';
  if (name.startsWith('-')) return 'must not start with "-"';
  if (name === '@') return 'must not be "@"';
  if (/[~^:?*[\\]/.test(name)) return 'must not contain ~ ^ : ? * [ or \\';
  if (name.includes('..')) return 'must not contain ".."';
  if (name.includes('@{')) return 'must not contain "@{"';
  if (name.includes('//')) return 'must not contain "//"';
  if (name.startsWith('/') || name.endsWith('/')) return 'must not start or end with "/"';
  if (name.endsWith('.')) return 'must not end with "."';
  if (name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock')))
    return 'no part may start with "." or end with ".lock"';
  if (name.toUpperCase() === 'HEAD') return 'must not be HEAD';
  // `refs/heads/main` would be a branch literally named so, read by people as main: name the branch itself.
  if (name.toLowerCase().startsWith('refs/')) return 'must be a branch name without "refs/" (for refs/heads/x, write x)';
  return undefined;
}

/** A short ASCII slug of a prompt for branch names: `fix-the-failing-date-test`. */
export function slugify(text: string, maxLength = 40): string {
  const slug = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/g, '');
  return slug.length > 0 ? slug : 'task';
}
