import { Argument, type Command } from 'commander';
import * as z from 'zod';
import type { ApiClient } from '../api-client';

/**
 * `nightshift intake status|pause|resume [--reason <text>]`: the operator's side of the spend
 * circuit breaker (docs/operations.md). Talks to `GET|POST /v1/admin/intake`, which only IAM-signed
 * callers may use on a deployed stack.
 */
export const IntakeStatus = z.object({ paused: z.boolean(), reason: z.string().nullable(), at: z.string().nullable() });
export type IntakeStatus = z.infer<typeof IntakeStatus>;

export interface IntakeCommandContext {
  client: () => Promise<Pick<ApiClient, 'intake'>>;
  out: (text: string) => void;
  json: () => boolean;
  /** Receives the command's exit code (the program reports it). */
  done: (exitCode: number) => void;
}

export function intakeLine(status: IntakeStatus): string {
  if (!status.paused) return `intake: open${status.at ? ` (since ${status.at}${status.reason ? `, ${status.reason}` : ''})` : ''}`;
  return `intake: PAUSED since ${status.at ?? 'an unknown time'}: ${status.reason ?? 'no reason recorded'}\nnew runs are refused with 503; resume with: nightshift intake resume --reason "<why it is safe>"`;
}

export function registerIntakeCommand(program: Command, context: IntakeCommandContext): Command {
  return program
    .command('intake')
    .description('show, pause or resume run intake (the spend circuit breaker)')
    .addArgument(new Argument('<action>', 'what to do').choices(['status', 'pause', 'resume']))
    .option('--reason <text>', 'why (recorded with the flag, shown to operators)')
    .action(async (action: 'status' | 'pause' | 'resume', options: { reason?: string }) => {
      const client = await context.client();
      const answer =
        action === 'status'
          ? await client.intake()
          : await client.intake({ action, ...(options.reason ? { reason: options.reason } : {}) });
      const status = IntakeStatus.parse(answer);
      context.out(context.json() ? JSON.stringify(status) : intakeLine(status));
      context.done(0);
    });
}
