/**
 * `@burrow/sdk` in a browser (the package's `browser` export condition): the same surface as the Node entry, over
 * fetch and the browser's WebSocket, with no Node built-ins. The API key reaches WebSockets as a subprotocol;
 * `files.upload()` and `files.download()` (local paths) are Node-only: use `files.write()` with a Blob and
 * `files.read()` / `files.readStream()`.
 */
export * from './common.js';
export { Burrow } from './burrow.js';
export { Den } from './den/den.js';
export { webPlatform, type WebPlatformOptions } from './platform-web.js';
