/** What every view needs: the signed-in client, the server's features, and a way to sign out. */
import type { Burrow } from '@burrow/sdk';
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Features } from './features.js';

export interface Api {
  burrow: Burrow;
  features: Features;
  /** Whether the server needs a key (a sign-out button only makes sense then). */
  authRequired: boolean;
  signOut(): void;
}

export const ApiContext = createContext<Api | undefined>(undefined);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (api === undefined) throw new Error('useApi outside the signed-in app');
  return api;
}
