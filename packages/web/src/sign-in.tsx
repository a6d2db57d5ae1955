/** The sign-in screen: an API key, checked against the server before it is kept for this tab. */
import { useState } from 'preact/hooks';
import { ErrorMessage } from './ui/errors.js';

export interface SignInProps {
  /** Resolves when the key works; rejects with the server's error when it does not. */
  onKey(key: string): Promise<void>;
  /** Why the sign-in screen is shown again (e.g. the stored key was refused). */
  notice: unknown;
}

export function SignIn({ onKey, notice }: SignInProps) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(notice);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (key.trim() === '') {
      setError(new Error('enter the API key the server was started with (burrow serve --api-key ...)'));
      return;
    }
    setBusy(true);
    try {
      await onKey(key.trim());
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <form class="card" onSubmit={(event) => void submit(event)} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to Burrow</h1>
        <p class="muted">
          This server requires an API key. It is kept for this browser tab only and sent with every request.
        </p>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="current-password"
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          aria-describedby={error === undefined ? undefined : 'sign-in-error'}
          required
        />
        <div id="sign-in-error">
          <ErrorMessage error={error} />
        </div>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
