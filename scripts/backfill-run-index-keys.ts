import { parseArgs } from 'node:util';
import { createDocumentClient } from '../adapters/dynamodb/client';
import { backfillRunIndexKeys } from '../adapters/dynamodb/run-index-backfill';

/**
 * `npx tsx scripts/backfill-run-index-keys.ts --table <runs table> [--region r] [--start '<json>']`,
 * with the operator's AWS credentials (dynamodb:Scan and dynamodb:UpdateItem on the runs table): writes
 * the list indexes' derived keys on run items from before them (docs/data-model.md "Run list indexes").
 * Each page prints the position to resume from; run it again with `--start` after an interruption,
 * or from the start: items already right are not written again.
 */
const { values } = parseArgs({
  options: { table: { type: 'string' }, region: { type: 'string' }, endpoint: { type: 'string' }, start: { type: 'string' } },
});
if (!values.table) {
  process.stderr.write(
    'usage: backfill-run-index-keys --table <runs table name> [--region <region>] [--endpoint <url>] [--start <json position>]\n',
  );
  process.exit(2);
}
const doc = createDocumentClient({
  ...(values.region ? { region: values.region } : {}),
  ...(values.endpoint ? { endpoint: values.endpoint } : {}),
});
backfillRunIndexKeys(doc, values.table, {
  ...(values.start ? { start: JSON.parse(values.start) as Record<string, unknown> } : {}),
  onPage: (page) =>
    process.stdout.write(
      `${JSON.stringify({ scanned: page.scanned, updated: page.updated, raced: page.raced, resume: page.next ?? null })}\n`,
    ),
})
  .then((total) => process.stdout.write(`done: ${JSON.stringify(total)}\n`))
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
