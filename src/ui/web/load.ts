import { html } from "htm/preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` when `deps` change (and on reload()); a stale answer never overwrites a newer one. With
 * `initial` (data fetched a moment ago), that is shown first and `load` waits for a change or reload().
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], initial: T | null = null): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({ data: initial, error: null, loading: initial === null });
  const [tick, setTick] = useState(0);
  const given = useRef(initial !== null);
  useEffect(() => {
    if (given.current) {
      given.current = false;
      return;
    }
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    load(controller.signal).then(
      (data) => !controller.signal.aborted && setState({ data, error: null, loading: false }),
      (err) => {
        if (controller.signal.aborted) return;
        setState({ data: null, error: err instanceof ApiError ? err.message : `Something went wrong: ${String(err)}`, loading: false });
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** The usual three states of a loaded part of a page. */
export function Loading({ what }: { what: string }) {
  return html`<p class="muted" role="status">Loading ${what}…</p>`;
}

export function ErrorMessage({ message }: { message: string | null }) {
  return message ? html`<p class="error" role="alert">${message}</p>` : null;
}
