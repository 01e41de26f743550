import { verify } from '@octokit/webhooks-methods';

/** `X-Hub-Signature-256` as GitHub sends it: the HMAC-SHA256 of the raw body, hex. Anything else (sha1=, absent) is refused. */
export const SIGNATURE_256 = /^sha256=[0-9a-f]{64}$/;

/** At most one re-read of the secret per this many milliseconds per instance: forged requests cannot hammer Secrets Manager. */
export const SECRET_REREAD_INTERVAL_MS = 5_000;

export interface WebhookSecretOptions {
  /** Reads the current webhook secret (Secrets Manager, or the local secrets file). */
  read: () => Promise<string>;
  now?: () => number;
}

/**
 * The webhook secret, read once and cached for the life of the instance. A signature that does not
 * verify with the cached secret is checked once more against a fresh read (the secret may have been
 * rotated), at most once per SECRET_REREAD_INTERVAL_MS. Comparison is constant-time
 * (@octokit/webhooks-methods uses crypto.timingSafeEqual) over the raw body.
 */
export class WebhookSecret {
  private cached: { value: string; readAt: number } | undefined;
  private readonly now: () => number;

  constructor(private readonly options: WebhookSecretOptions) {
    this.now = options.now ?? Date.now;
  }

  async verify(rawBody: string, signature: string | undefined): Promise<boolean> {
    if (signature === undefined || !SIGNATURE_256.test(signature) || rawBody.length === 0) return false;
    const first = await this.current();
    if (await verify(first.value, rawBody, signature)) return true;
    if (this.now() - first.readAt < SECRET_REREAD_INTERVAL_MS) return false;
    const fresh = await this.refresh();
    if (fresh.value === first.value) return false;
    return verify(fresh.value, rawBody, signature);
  }

  private async current(): Promise<{ value: string; readAt: number }> {
    return this.cached ?? this.refresh();
  }

  private async refresh(): Promise<{ value: string; readAt: number }> {
    // A secret file written with echo ends in a newline that is not part of the secret.
    const value = (await this.options.read()).replace(/\r?\n$/, '');
    if (value.length < 16) throw new Error('the webhook secret is shorter than 16 characters');
    this.cached = { value, readAt: this.now() };
    return this.cached;
  }
}
