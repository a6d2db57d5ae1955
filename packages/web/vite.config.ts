/**
 * The dashboard build: static files into dist/ (index.html + hashed assets/), served by `burrow serve` at `/`.
 * No inline script or style may be emitted (the server's CSP forbids them): the module preload polyfill (an inline
 * script) is off, CSS goes to files, and assets are never inlined as data: URLs into scripts.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  resolve: { conditions: ['browser'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
    cssCodeSplit: true,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
