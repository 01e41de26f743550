// @octokit/webhooks-methods ships its types only under an `exports` condition that the project's
// node10 module resolution does not read; these are its declarations (dist-types/node/*.d.ts, v6).
declare module '@octokit/webhooks-methods' {
  export function sign(secret: string, payload: string): Promise<string>;
  export function verify(secret: string, eventPayload: string, signature: string): Promise<boolean>;
}
