import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev -w @evshare/web` serves the UI with hot reload and forwards the API, the push
// socket and the balancer status to a running platform (make run: the gateway on :8080).
const gateway = process.env.EVSHARE_GATEWAY ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/public', import.meta.url)),
    emptyOutDir: true,
    // The CSP allows no inline script: never inline the module preload helper or small assets.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: true,
  },
  server: {
    proxy: {
      '/api': gateway,
      '/lb': gateway,
      '/push': { target: gateway.replace(/^http/, 'ws'), ws: true },
    },
  },
});
