import { html } from "htm/preact";
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/**
 * A modal confirmation: the native <dialog> keeps keyboard focus inside it, closes on Escape and returns
 * focus to where it was. The safe choice (Cancel) has the focus first.
 */
export function Confirm(props: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  /** false keeps the confirm button disabled (e.g. until a box is ticked). */
  canConfirm?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.open && dialog.close();
  }, []);
  return html`<dialog ref=${ref} aria-labelledby="dialog-title" onCancel=${(e: Event) => {
    e.preventDefault();
    props.onCancel();
  }}>
    <h2 id="dialog-title">${props.title}</h2>
    ${props.children}
    <div class="buttons">
      <button type="button" class="secondary" autofocus onClick=${props.onCancel}>Cancel</button>
      <button type="button" class="danger" disabled=${props.canConfirm === false} onClick=${props.onConfirm}>${props.confirmLabel}</button>
    </div>
  </dialog>`;
}
