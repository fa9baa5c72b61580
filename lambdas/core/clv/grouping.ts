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
  const keys = combinations <= Number.MAX_SAFE_INTEGER ? mixedRadixKeys(columns, rowCount) : joinedKeys(columns, rowCount);
  const groupOfKey = new Map<number | string, number>();
  const groupOfRow = new Uint32Array(rowCount);
  const firstRow: number[] = [];
  const count: number[] = [];
  for (let row = 0; row < rowCount; row += 1) {
    const key = keys[row]!;
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

/** Exact numeric keys: the codes read as digits of a mixed-radix number (valid below 2^53). */
function mixedRadixKeys(columns: readonly ColumnCodes[], rowCount: number): Float64Array {
  const keys = new Float64Array(rowCount);
  for (const column of columns) {
    const radix = column.values.length;
    for (let row = 0; row < rowCount; row += 1) keys[row] = keys[row]! * radix + column.codes[row]!;
  }
  return keys;
}

function joinedKeys(columns: readonly ColumnCodes[], rowCount: number): string[] {
  return Array.from({ length: rowCount }, (_, row) => columns.map((column) => column.codes[row]!).join(','));
}
