import { defineConfig } from 'vite';

/**
 * The fan web app. `vite build` writes dist/, which the gateway serves at /; the dev server proxies
 * /api to a running gateway (GATEWAY_URL, default the `npm start` one), so the app is always same-origin.
 */
const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    // Server-sent events pass through the proxy as a stream (no buffering).
    proxy: { '/api': { target: gateway, changeOrigin: false } },
  },
});
