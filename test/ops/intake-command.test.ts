import '../api/quiet-powertools';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../core/observability/logger';
import { Command } from 'commander';
import { ApiClient } from '../../cli/api-client';
import { registerIntakeCommand } from '../../cli/commands/intake';
import { intakeAdminHandler } from '../../lambdas/ops/intake';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { listSink } from './list-sink';

/** The intake handler behind a real loopback HTTP server, as API Gateway would call it (IAM-shaped caller). */
describe('nightshift intake', () => {
  let db: DynaliteHarness;
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    db = await startDynalite();
    const handler = intakeAdminHandler(() => ({
      intake: db.store.intake,
      metrics: listSink(),
      log: createLogger({ serviceName: 'test' }),
    }));
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (!req.url?.startsWith('/v1/admin/intake')) {
          res.writeHead(404).end();
          return;
        }
        const event = {
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
          body: Buffer.concat(chunks).toString('utf8'),
          requestContext: { requestId: 'r', http: { method: req.method }, authorizer: { iam: { userArn: 'local:operator' } } },
        };
        void handler(event).then((result) => res.writeHead(result.statusCode, result.headers).end(result.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await db.stop();
  });

  async function run(args: string[], json = false): Promise<{ out: string[]; code: number | undefined }> {
    const out: string[] = [];
    let code: number | undefined;
    const program = new Command('nightshift').exitOverride().configureOutput({ writeErr: () => undefined });
    registerIntakeCommand(program, {
      client: async () => new ApiClient({ baseUrl }),
      out: (t) => out.push(t),
      json: () => json,
      done: (c) => (code = c),
    });
    await program.parseAsync(args, { from: 'user' });
    return { out, code };
  }

  it('Given the intake API, When nightshift intake pauses, reports and resumes, Then the flag follows through the API and the lines say so', async () => {
    expect((await run(['intake', 'status'])).out[0]).toBe('intake: open');

    const paused = await run(['intake', 'pause', '--reason', 'investigating spend']);
    expect(paused.code).toBe(0);
    expect(paused.out[0]).toMatch(/^intake: PAUSED since .*: paused by local:operator: investigating spend/);
    expect((await db.store.intake.get()).paused).toBe(true);

    const status = await run(['intake', 'status'], true);
    expect(JSON.parse(status.out[0]!)).toMatchObject({ paused: true, reason: 'paused by local:operator: investigating spend' });

    const resumed = await run(['intake', 'resume']);
    expect(resumed.out[0]).toMatch(/^intake: open \(since .*, resumed by local:operator\)$/);
    expect((await db.store.intake.get()).paused).toBe(false);
  });

  it('Given an unknown action, When nightshift intake runs, Then it is refused before anything is called', async () => {
    await expect(run(['intake', 'explode'])).rejects.toThrow(/Allowed choices are status, pause, resume/);
  });
});
