import { useState } from "preact/hooks";
import { errorText } from "../api.js";
import { type Load, useLoad } from "../components.js";
import { useI18n } from "../i18n/index.js";

/**
 * A newest-first list read a page at a time (the audit log, alarm history): the first
 * page loads like any list; **Load older** asks for the page before the last id shown.
 *
 * ```tsx
 * const p = usePaged((before) => API.alarms({ state, before, limit: 50 }).then((r) => r.alarms), [state]);
 * <DataTable load={p.first} rows={() => p.items} … /> <LoadOlder paged={p} />
 * ```
 */
export interface Paged<T> {
  first: Load<T[]>;
  /** The first page and every older one loaded since, newest first. */
  items: T[];
  hasMore: boolean;
  busy: boolean;
  error: string | undefined;
  loadOlder: () => void;
  /** Read the first page again and forget the older ones. */
  reload: () => void;
}

export function usePaged<T extends { id: number }>(
  page: (before: number | undefined, limit: number) => Promise<T[]>,
  deps: readonly unknown[] = [],
  size = 50,
): Paged<T> {
  const { t } = useI18n();
  const first = useLoad(() => page(undefined, size), deps);
  // Older pages belong to the deps they were read with: new deps start from the first page.
  const key = JSON.stringify(deps);
  const [older, setOlder] = useState<{ key: string; items: T[]; done: boolean }>({
    key,
    items: [],
    done: false,
  });
  const [more, setMore] = useState<{ busy: boolean; error?: string }>({ busy: false });
  const mine = older.key === key ? older : { key, items: [], done: false };
  const items = [...(first.data ?? []), ...mine.items];
  const hasMore = !mine.done && (mine.items.length > 0 || first.data?.length === size);

  const loadOlder = async () => {
    const last = items.at(-1);
    if (!last) return;
    setMore({ busy: true });
    try {
      const next = await page(last.id, size);
      setOlder({ key, items: [...mine.items, ...next], done: next.length < size });
      setMore({ busy: false });
    } catch (e) {
      setMore({ busy: false, error: errorText(e, t.networkError) });
    }
  };
  const reload = () => {
    setOlder({ key, items: [], done: false });
    setMore({ busy: false });
    first.reload();
  };
  return {
    first,
    items,
    hasMore,
    busy: more.busy,
    error: more.error,
    loadOlder: () => void loadOlder(),
    reload,
  };
}

/** The error of the last "Load older", and the button while there may be more. */
export function LoadOlder<T>({ paged }: { paged: Paged<T> }) {
  const { t } = useI18n();
  return (
    <>
      {paged.error && <p class="note note-error">{paged.error}</p>}
      {paged.hasMore && (
        <div class="actions">
          <button type="button" onClick={paged.loadOlder} disabled={paged.busy}>
            {paged.busy ? t.loading : t.loadOlder}
          </button>
        </div>
      )}
    </>
  );
}
