import type { ReactNode } from 'react';
import { Empty } from './ui';

export interface Column<T> {
  key: string;
  header: ReactNode;
  render(row: T): ReactNode;
  /** `num` right-aligns figures; a function picks per row (e.g. `num neg`). */
  className?: string | ((row: T) => string);
  /** Data shown as written (names, plates, ids): marked for translators to leave alone. */
  data?: boolean;
}

/**
 * The console's and wallet's table: a scrolling wrapper (tables scroll inside their card on a
 * phone), column headers, one row per item. With `empty`, the table appears only once there are
 * rows (a loaded empty list shows that text instead), so a test or reader waiting for the table
 * finds it filled; without, the headers show while loading.
 */
export function DataTable<T>(props: {
  rows: readonly T[] | undefined;
  columns: Array<Column<T>>;
  rowKey(row: T): string | number;
  empty?: string;
  /** Read by screen readers only; the card's heading is what sighted readers see. */
  caption?: string;
  testId?: string;
  rowData?(row: T): Record<`data-${string}`, string>;
}) {
  const { rows, columns } = props;
  if (props.empty !== undefined && !rows?.length) return rows ? <Empty>{props.empty}</Empty> : null;
  return (
    <div className="table-wrap">
      <table className="table" data-testid={props.testId} aria-busy={rows === undefined || undefined}>
        {props.caption && <caption className="sr-only">{props.caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} scope="col" className={typeof c.className === 'string' ? c.className : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(rows ?? []).map((row) => (
            <tr key={props.rowKey(row)} {...props.rowData?.(row)}>
              {columns.map((c) => (
                <td key={c.key} className={typeof c.className === 'function' ? c.className(row) : c.className} translate={c.data ? 'no' : undefined}>
                  {c.render(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
