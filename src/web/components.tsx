import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, errorText } from "./api.js";
import { useI18n } from "./i18n/index.js";

export interface Load<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Run `load` on mount, on `reload()` and when `deps` change (which forgets the old data);
 * the latest call wins. A failed reload keeps the last data beside the error.
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[] = []): Load<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({
    loading: true,
  });
  const latest = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const run = useCallback(() => {
    const call = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    loadRef.current().then(
      (data) => call === latest.current && setState({ data, loading: false }),
      (error: unknown) =>
        call === latest.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
  }, []);
  useEffect(() => {
    setState({ loading: true });
    run();
    return () => {
      latest.current++;
    };
  }, [run, ...deps]);
  return { data: state.data, error: state.error, loading: state.loading, reload: run };
}

/** An error to show under a form, and the input it is about (from the API's `field`). */
export interface FormError {
  message: string;
  /** The input's name, e.g. "username" for the API's "body.username". */
  field?: string | undefined;
}

export function toFormError(e: unknown, networkMessage: string): FormError {
  const field = e instanceof ApiError ? e.field?.replace(/^body\./, "") : undefined;
  return { message: errorText(e, networkMessage), field };
}

export function ErrorNote({ id, children }: { id?: string; children: ComponentChildren }) {
  return (
    <p class="note note-error" role="alert" id={id}>
      {children}
    </p>
  );
}

export function LoadError({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  const { t } = useI18n();
  return (
    <div class="note note-error" role="alert">
      <span>{errorText(error, t.networkError)}</span>{" "}
      <button type="button" class="link" onClick={onRetry}>
        {t.retry}
      </button>
    </div>
  );
}

/** A page's title; it takes focus when the page changes so screen readers announce it. */
export function PageTitle({
  children,
  actions,
}: {
  children: string;
  actions?: ComponentChildren;
}) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (document.activeElement === document.body || document.activeElement === null) return;
    ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <div class="page-head">
      <h1 tabIndex={-1} ref={ref}>
        {children}
      </h1>
      {actions}
    </div>
  );
}

/** Call `tick` every `ms` while the tab is visible (and once when it becomes visible again). */
export function usePoll(tick: () => void, ms: number): void {
  const ref = useRef(tick);
  ref.current = tick;
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") ref.current();
    }, ms);
    const onVisible = () => {
      if (document.visibilityState === "visible") ref.current();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [ms]);
}

export interface Action {
  busy: boolean;
  error: FormError | undefined;
  /** Run a change; its failure becomes `error` (the API's message). True when it succeeded. */
  run: (change: () => Promise<unknown>) => Promise<boolean>;
  /** Show an error found before calling the API (two passwords that differ). */
  fail: (error: FormError) => void;
  clear: () => void;
}

export function useAction(): Action {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<FormError>();
  const run = async (change: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await change();
      return true;
    } catch (e) {
      setError(toFormError(e, t.networkError));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, fail: setError, clear: () => setError(undefined) };
}

/** Shown while the first answer is on its way, when it failed, or when the list is empty. */
export function LoadState<T>({
  load,
  empty,
  isEmpty,
}: {
  load: Load<T>;
  empty?: ComponentChildren;
  isEmpty?: (data: T) => boolean;
}) {
  const { t } = useI18n();
  if (load.error !== undefined) return <LoadError error={load.error} onRetry={load.reload} />;
  if (load.data === undefined) {
    return (
      <p class="muted" role="status">
        {t.loading}
      </p>
    );
  }
  if (empty !== undefined && isEmpty?.(load.data)) return <p class="empty">{empty}</p>;
  return null;
}

/** Links styled as tabs; the current one is marked for assistive technology. */
export function Tabs({
  label,
  tabs,
}: {
  label: string;
  tabs: { href: string; label: string; current: boolean; count?: number | undefined }[];
}) {
  return (
    <nav class="tabs" aria-label={label}>
      {tabs.map((tab) => (
        <a key={tab.href} href={tab.href} aria-current={tab.current ? "page" : undefined}>
          {tab.label}
          {tab.count !== undefined && tab.count > 0 && <span class="count">{tab.count}</span>}
        </a>
      ))}
    </nav>
  );
}

/** A time shown relative ("5 minutes ago"), with the exact time on hover and for screen readers. */
export function When({ at, now }: { at: string | number; now?: number }) {
  const { f } = useI18n();
  const iso = new Date(at).toISOString();
  return (
    <time dateTime={iso} title={f.dateTimeSeconds(at)} class="nowrap">
      {f.relative(at, now)}
    </time>
  );
}
