import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedSchemaFiles } from './schema-files';

// `npm run schemas`: rewrites the generated documents under docs/schemas/ (a test fails while they are stale).
for (const file of generatedSchemaFiles()) {
  writeFileSync(join(__dirname, '..', file.path), file.text);
  process.stdout.write(`wrote ${file.path}\n`);
}
