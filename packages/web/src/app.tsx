/**
 * The dashboard shell: finds out what the server offers (health features) and whether it needs a key, shows the
 * sign-in screen when it does, then the views behind the hash routes.
 */
import { AuthenticationError, Burrow } from '@burrow/sdk';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiContext, type Api } from './api/context.js';
import { Features } from './api/features.js';
import type { KeyStore } from './api/session.js';
import { CreateForm } from './sandboxes/create-form.js';
import { SandboxesPage } from './sandboxes/sandboxes-page.js';
import { SandboxPage } from './sandbox/sandbox-page.js';
import { SignIn } from './sign-in.js';
import { ErrorMessage } from './ui/errors.js';
import { useRoute } from './ui/route.js';

type State =
  | { kind: 'loading' }
  | { kind: 'sign-in'; features: Features; notice: unknown }
  | { kind: 'ready'; burrow: Burrow; features: Features; authRequired: boolean }
  | { kind: 'failed'; error: unknown };

export interface AppProps {
  url: string;
  keys: KeyStore;
}

/** A client with `key`, if the server accepts it (an authenticated, cheap call decides). */
async function tryKey(url: string, key: string | undefined): Promise<Burrow> {
  const burrow = new Burrow({ url, apiKey: key, timeoutMs: 30_000 });
  await burrow.stats();
  return burrow;
}

export function App({ url, keys }: AppProps) {
  const [state, setState] = useState<State>({ kind: 'loading' });

  const start = async () => {
    try {
      const health = await new Burrow({ url, timeoutMs: 15_000 }).health();
      const features = new Features(health.features);
      const stored = keys.get();
      try {
        const burrow = await tryKey(url, stored);
        setState({ kind: 'ready', burrow, features, authRequired: stored !== undefined });
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        if (stored !== undefined) keys.clear();
        setState({ kind: 'sign-in', features, notice: stored === undefined ? undefined : error });
      }
    } catch (error) {
      setState({ kind: 'failed', error });
    }
  };
  useEffect(() => void start(), []);

  if (state.kind === 'loading') return <p class="loading">Connecting to {url}…</p>;
  if (state.kind === 'failed')
    return (
      <main id="main" class="sign-in">
        <div class="card">
          <h1>Burrow is not answering</h1>
          <ErrorMessage error={state.error} />
          <button type="button" onClick={() => void start()}>
            Try again
          </button>
        </div>
      </main>
    );
  if (state.kind === 'sign-in')
    return (
      <SignIn
        notice={state.notice}
        onKey={async (key) => {
          const burrow = await tryKey(url, key);
          keys.set(key);
          setState({ kind: 'ready', burrow, features: state.features, authRequired: true });
        }}
      />
    );
  const signOut = () => {
    keys.clear();
    setState({ kind: 'sign-in', features: state.features, notice: undefined });
  };
  return (
    <Signed
      burrow={state.burrow}
      features={state.features}
      authRequired={state.authRequired}
      signOut={signOut}
    />
  );
}

function Signed(props: Api) {
  const api = useMemo(() => props, [props.burrow, props.features, props.authRequired]);
  const route = useRoute();
  useEffect(() => {
    document.title =
      route.view === 'sandbox'
        ? `${route.id.slice(0, 12)} · Burrow`
        : route.view === 'create'
          ? 'New sandbox · Burrow'
          : 'Burrow';
  }, [route]);
  return (
    <ApiContext.Provider value={api}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          Burrow
        </a>
        <nav aria-label="Main">
          <a href="#/" aria-current={route.view === 'list' ? 'page' : undefined}>
            Sandboxes
          </a>
          <a href="#/new" aria-current={route.view === 'create' ? 'page' : undefined}>
            New sandbox
          </a>
        </nav>
        {api.authRequired ? (
          <button type="button" class="secondary" onClick={api.signOut}>
            Sign out
          </button>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        {route.view === 'list' ? <SandboxesPage /> : null}
        {route.view === 'create' ? <CreateForm /> : null}
        {route.view === 'sandbox' ? <SandboxPage id={route.id} tab={route.tab} /> : null}
      </main>
    </ApiContext.Provider>
  );
}
