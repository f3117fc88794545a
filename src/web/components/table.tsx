import type { ComponentChildren, VNode } from "preact";
import { type Load, LoadState } from "../components.js";

/**
 * Tables every page shares: the scrolling wrapper, a header row, and for a loaded list
 * "Loading…", the error with a retry, or the empty text until there are rows.
 *
 * ```tsx
 * <DataTable load={rules} rows={(d) => d.rules} empty={t.noRules} testId="rules"
 *   columns={["#", t.service, operator && t.actionsHeader]}
 *   row={(r) => <tr key={r.id}>…</tr>} />
 * ```
 */

/**
 * A header cell: its text, or `{ label, num }` for a right-aligned number column, or
 * `{ label, hidden }` for a column named for screen readers only. `false`, `undefined`
 * and "" leave the column out (a viewer's missing actions column).
 */
export type Column =
  | string
  | { label: ComponentChildren; num?: boolean; hidden?: boolean }
  | false
  | undefined;

export function Table({
  columns,
  testId,
  class: cls,
  children,
}: {
  columns: readonly Column[];
  testId?: string | undefined;
  class?: string;
  children: ComponentChildren;
}) {
  return (
    <div class="table-wrap">
      <table data-testid={testId} class={cls}>
        <thead>
          <tr>
            {columns.map((c, i) => {
              if (!c) return null;
              if (typeof c === "string") {
                return (
                  <th key={i} scope="col">
                    {c}
                  </th>
                );
              }
              return (
                <th key={i} scope="col" class={c.num ? "num" : undefined}>
                  {c.hidden ? <span class="visually-hidden">{c.label}</span> : c.label}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A loaded list as a table; `rows` picks the list out of the answer. */
export function DataTable<D, T>({
  load,
  rows,
  empty,
  row,
  ...table
}: {
  load: Load<D>;
  rows: (data: D) => readonly T[];
  empty: ComponentChildren;
  row: (item: T) => VNode;
  columns: readonly Column[];
  testId?: string;
  class?: string;
}) {
  const list = load.data === undefined ? [] : rows(load.data);
  return (
    <>
      <LoadState load={load} empty={empty} isEmpty={(d) => rows(d).length === 0} />
      {list.length > 0 && <Table {...table}>{list.map(row)}</Table>}
    </>
  );
}

/** A value, or a muted dash when there is none. */
export function orDash(v: ComponentChildren): ComponentChildren {
  return v === null || v === undefined || v === "" || v === false ? (
    <span class="muted">–</span>
  ) : (
    v
  );
}
