/** The distinct values of one column and, for each row, the index of its value among them. */
export interface ColumnCodes {
  readonly codes: Uint32Array;
  readonly values: Float64Array;
}

/** Rows with identical values in every grouped column share a group. */
export interface RowGroups {
  readonly groupOfRow: Uint32Array;
  /** A representative row per group (its first occurrence). */
  readonly firstRow: Uint32Array;
  /** Number of rows per group. */
  readonly count: Float64Array;
}

export function encodeColumn(column: Float64Array): ColumnCodes {
  const codeOfValue = new Map<number, number>();
  const codes = new Uint32Array(column.length);
  const values: number[] = [];
  for (let row = 0; row < column.length; row += 1) {
    const value = column[row]!;
    let code = codeOfValue.get(value);
    if (code === undefined) {
      code = values.length;
      codeOfValue.set(value, code);
      values.push(value);
    }
    codes[row] = code;
  }
  return { codes, values: Float64Array.from(values) };
}

/** Groups rows by the combination of their codes in `columns` (all of the same length). */
export function groupRows(columns: readonly ColumnCodes[]): RowGroups {
  const rowCount = columns[0]?.codes.length ?? 0;
  const combinations = columns.reduce((product, column) => product * Math.max(column.values.length, 1), 1);
  // A mixed-radix number is an exact, cheap Map key while it fits in a double's integer range.
  const keyOfRow =
    combinations <= Number.MAX_SAFE_INTEGER
      ? (row: number): number | string =>
          columns.reduce((key, column) => key * column.values.length + column.codes[row]!, 0)
      : (row: number): number | string => columns.map((column) => column.codes[row]!).join(',');
  const groupOfKey = new Map<number | string, number>();
  const groupOfRow = new Uint32Array(rowCount);
  const firstRow: number[] = [];
  const count: number[] = [];
  for (let row = 0; row < rowCount; row += 1) {
    const key = keyOfRow(row);
    let group = groupOfKey.get(key);
    if (group === undefined) {
      group = firstRow.length;
      groupOfKey.set(key, group);
      firstRow.push(row);
      count.push(0);
    }
    groupOfRow[row] = group;
    count[group] = count[group]! + 1;
  }
  return { groupOfRow, firstRow: Uint32Array.from(firstRow), count: Float64Array.from(count) };
}
