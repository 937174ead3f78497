import { useState } from 'preact/hooks';
import { ApiError, signIn } from '../api.ts';

/**
 * The sign-in form of a gateway with gateway.token: the token is posted once in a JSON body
 * and traded for an HttpOnly cookie; the page never keeps it. The form's own method and action
 * are a POST to the API as well, so even a submit before the script takes over cannot put the
 * token into a URL (the gateway refuses that form post: it is not JSON).
 */
export function Login(props: { onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(token);
      setToken('');
      props.onSignedIn();
    } catch (err) {
      setError(err instanceof ApiError ? err : null);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form method="post" action="v1/session" onSubmit={submit} class="panel">
        <h1>Proxima monitor</h1>
        <p>This gateway needs its token (gateway.token) to show the farm.</p>
        <label for="token">Gateway token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        />
        <button type="submit" class="primary" disabled={busy || token === ''}>
          Sign in
        </button>
        {error && (
          <p class="error" role="alert">
            {error.status === 401 ? 'That is not the gateway token.' : error.message}
            <span class="hint">
              {error.status === 401
                ? 'Use the value of gateway.token (PROXIMA_GATEWAY__TOKEN) the gateway runs with.'
                : error.hint}
            </span>
          </p>
        )}
      </form>
    </main>
  );
}
