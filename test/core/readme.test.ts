import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tablesReference } from '../../lambdas/core/schema/markdown.ts';
import { allTables } from '../../lambdas/core/schema/tables.ts';
import { repoRoot } from '../support/pipeline.ts';

describe('README', () => {
  it('carries the table reference generated from the schema source (run `npm run docs` after a schema change)', async () => {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toContain(tablesReference());
    for (const table of allTables) expect(readme).toContain(`### \`${table.name}\``);
  });

  it('shows the commands of the quick start', async () => {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    for (const command of ['npm ci', 'npm run demo', 'npm test', 'npm run bench']) expect(readme).toContain(command);
  });
});
