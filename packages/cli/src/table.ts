/** Listings as people read them (`oci images`, `oci snapshots`): aligned columns, sizes in kB or MB. */

/** The rows as lines of left-aligned columns, `gap` spaces apart (two; runc's `list` has three). */
export function table(rows: readonly (readonly string[])[], gap = 2): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join(' '.repeat(gap))
      .trimEnd();
  return rows.map((row) => `${line(row)}\n`).join('');
}

export function megabytes(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}
