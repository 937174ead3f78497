import { useState } from 'preact/hooks';

/**
 * A button that asks once more in place ("Cancel batch?  Yes / No") before an action that
 * cannot be undone; works the same with a mouse, a keyboard and a finger, unlike confirm().
 */
export function ConfirmButton(props: {
  label: string;
  question: string;
  yes: string;
  onConfirm: () => Promise<unknown>;
  danger?: boolean;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const cls = props.danger ? 'danger' : '';
  if (!asking) {
    return (
      <button type="button" class={cls} disabled={props.disabled} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={props.question}>
      <span>{props.question}</span>
      <button
        type="button"
        class={cls}
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await props.onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {props.yes}
      </button>
      <button type="button" disabled={busy} onClick={() => setAsking(false)}>
        No
      </button>
    </span>
  );
}
