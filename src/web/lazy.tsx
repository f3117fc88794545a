import type { FunctionComponent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { LoadError } from "./components.js";
import { useI18n } from "./i18n/index.js";

/**
 * A component whose code is fetched on first use (a dynamic `import()`: its own chunk),
 * so the first page stays light. Shows "Loading…" meanwhile and a retry on failure.
 */
export function lazy<P extends object>(
  load: () => Promise<FunctionComponent<P>>,
): FunctionComponent<P> {
  let loaded: FunctionComponent<P> | undefined;
  let pending: Promise<FunctionComponent<P>> | undefined;
  const fetchIt = () => {
    pending ??= load().then(
      (c) => {
        loaded = c;
        return c;
      },
      (e: unknown) => {
        pending = undefined;
        throw e;
      },
    );
    return pending;
  };
  return function Lazy(props: P) {
    const { t } = useI18n();
    const [component, setComponent] = useState(() => loaded);
    const [error, setError] = useState<unknown>();
    const [attempt, setAttempt] = useState(0);
    useEffect(() => {
      if (component) return;
      let live = true;
      fetchIt().then(
        (c) => live && setComponent(() => c),
        (e: unknown) => live && setError(e),
      );
      return () => {
        live = false;
      };
    }, [attempt]);
    if (error !== undefined) {
      return (
        <LoadError
          error={error}
          onRetry={() => {
            setError(undefined);
            setAttempt((a) => a + 1);
          }}
        />
      );
    }
    if (!component) {
      return (
        <p class="muted" role="status">
          {t.loading}
        </p>
      );
    }
    const C = component;
    return <C {...props} />;
  };
}
