/**
 * Removes secrets from anything the runner writes down (trace, events, logs, commit messages, PR
 * bodies). Known secret values are replaced exactly; token-shaped strings are replaced by pattern,
 * so that a token the runner never saw (printed by a tool, say) is caught too.
 */
const tokenPatterns: readonly RegExp[] = [
  /\bgh[pousr]_[A-Za-z0-9]{20,255}\b/g, // GitHub tokens (PAT, OAuth, user-to-server, server-to-server, refresh)
  /\bgithub_pat_[A-Za-z0-9_]{20,255}\b/g,
  /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, // AWS access key ids
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/g, // JWTs
  /\b(?:x-access-token|Authorization:\s*(?:token|bearer|basic))[:\s]+[A-Za-z0-9+/=._-]{8,}/gi,
];

export const REDACTED = '[REDACTED]';

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Registers a value that must never be written down. Short values are refused: they would redact ordinary text. */
  add(secret: string | undefined): void {
    if (secret === undefined) return;
    const value = secret.trim();
    if (value.length < 8) return;
    this.secrets.add(value);
    // The same secret as it appears in a Basic auth header or URL-encoded.
    this.secrets.add(Buffer.from(`x-access-token:${value}`).toString('base64'));
    this.secrets.add(encodeURIComponent(value));
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret that contains another is removed whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    for (const pattern of tokenPatterns) out = out.replace(pattern, REDACTED);
    return out;
  }

  /** Whether `text` holds one of the registered secret values (exactly or encoded), not merely a token-shaped string. */
  containsKnownSecret(text: string): boolean {
    for (const secret of this.secrets) if (text.includes(secret)) return true;
    return false;
  }

  /** Redacts every string inside a JSON-like value. */
  redactValue<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v)) as T;
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.redactValue(v);
      return out as T;
    }
    return value;
  }
}
