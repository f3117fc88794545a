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

/** Run `load` on mount and on `reload()`; the latest call wins. */
export function useLoad<T>(load: () => Promise<T>): Load<T> {
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
      (error: unknown) => call === latest.current && setState({ error, loading: false }),
    );
  }, []);
  useEffect(() => {
    run();
    return () => {
      latest.current++;
    };
  }, [run]);
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

/** aria props for an input: its hint, and the error when the error is about it. */
export function describedProps(
  error: FormError | undefined,
  name: string,
  errorId: string,
  hintId?: string,
) {
  const invalid = error?.field === name;
  const ids = [hintId, invalid ? errorId : undefined].filter(Boolean).join(" ");
  return {
    "aria-invalid": invalid ? (true as const) : undefined,
    "aria-describedby": ids || undefined,
  };
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
