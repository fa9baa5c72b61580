import { allTables, type TableSpec } from './tables.ts';

export const README_TABLES_START = '<!-- tables:start (generated from lambdas/core/schema/tables.ts by `npm run docs`) -->';
export const README_TABLES_END = '<!-- tables:end -->';

function tableMarkdown(spec: TableSpec): string {
  const rows = [...spec.columns, spec.partition].map(
    (c) => `| \`${c.name}\`${c === spec.partition ? ' (partition)' : ''} | ${c.type} | ${c.description.replaceAll('|', '\\|')} |`,
  );
  return [`### \`${spec.name}\``, '', spec.description, '', '| column | type | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The README's table reference, generated so it cannot drift from the schema source. */
export function tablesReference(): string {
  return [README_TABLES_START, '', ...allTables.map(tableMarkdown).flatMap((t) => [t, '']), README_TABLES_END].join('\n');
}

/** The README text with its table reference replaced by the current one. */
export function withTablesReference(readme: string): string {
  const start = readme.indexOf(README_TABLES_START);
  const end = readme.indexOf(README_TABLES_END);
  if (start < 0 || end < start) throw new Error('README.md lacks the tables:start / tables:end markers');
  return readme.slice(0, start) + tablesReference() + readme.slice(end + README_TABLES_END.length);
}
