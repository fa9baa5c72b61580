import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { withTablesReference } from './markdown.ts';

// `npm run docs`: refreshes the README's table reference from the schema source.
const readmePath = resolve(import.meta.dirname, '../../../README.md');
await writeFile(readmePath, withTablesReference(await readFile(readmePath, 'utf8')));
