/** `@burrow/sdk/den` in a browser: Den's SDK names over the web platform (see `../browser.ts`). */
export { Den, DenError, DenSandbox as Sandbox, DenSandboxManager as SandboxManager } from './den.js';
export type * from './types.js';
