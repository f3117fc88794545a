import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { ErrorNote, useAction } from "../components.js";
import { useI18n } from "../i18n/index.js";

/**
 * A modal dialog (the browser's own `<dialog>`: focus is trapped inside, Escape closes it,
 * and focus returns to the button that opened it).
 */
export function Modal({
  title,
  onClose,
  children,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement as HTMLElement | null;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      dialog?.close();
      opener?.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={`card dialog${wide ? " dialog-wide" : ""}`}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

/**
 * Ask before a change; run it, and keep the dialog open with the API's message if it fails.
 * `children` may hold inputs the change reads (a comment, a weight).
 */
export function ConfirmDialog({
  title,
  message,
  confirmLabel,
  danger,
  onConfirm,
  onClose,
  children,
}: {
  title: string;
  message?: string;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
  children?: ComponentChildren;
}) {
  const { t } = useI18n();
  const action = useAction();
  const errorId = useId();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await action.run(onConfirm)) onClose();
  };
  return (
    <Modal title={title} onClose={onClose}>
      <form noValidate onSubmit={submit} aria-describedby={action.error ? errorId : undefined}>
        {message && <p>{message}</p>}
        {children}
        {action.error && <ErrorNote id={errorId}>{action.error.message}</ErrorNote>}
        <div class="actions">
          <button type="submit" class={danger ? "danger" : "primary"} disabled={action.busy}>
            {action.busy ? t.working : confirmLabel}
          </button>
          <button type="button" onClick={onClose}>
            {t.cancel}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/**
 * Which item a dialog is open for (undefined: closed). `close` also runs `after`, e.g.
 * to read the list again once a change went through (or was cancelled).
 *
 * ```tsx
 * const removing = useDialog<MachineView>(machines.reload);
 * <button onClick={() => removing.show(m)}>…</button>
 * {removing.render((m) => <ConfirmDialog … onClose={removing.close} />)}
 * ```
 */
export function useDialog<T>(after?: () => void) {
  const [open, setOpen] = useState<T>();
  const close = () => {
    setOpen(undefined);
    after?.();
  };
  return {
    open,
    show: (item: T) => setOpen(() => item),
    close,
    /** The dialog for the item it is open for, or nothing. */
    render: (dialog: (item: T) => ComponentChildren) => (open === undefined ? null : dialog(open)),
  };
}
