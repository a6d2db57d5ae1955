/**
 * `@burrow/sdk/den`: Den's TypeScript SDK names exactly (`Den`, `Sandbox`, `SandboxManager`, `DenError` and the
 * types), for a drop-in port: `import { Den, Sandbox } from '@us4/den'` becomes `... from '@burrow/sdk/den'`.
 */
export { DenError, DenSandbox as Sandbox, DenSandboxManager as SandboxManager } from './den.js';
export { Den } from '../index.js';
export type * from './types.js';
