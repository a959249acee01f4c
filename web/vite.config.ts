import { defineConfig } from 'vite';

/** The gateway serves dist/ at `/`; hashed files under assets/ are cached for good (see gateway/src/http/web-app.ts). */
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline scripts or styles: the page's CSP allows only files from its own origin.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev -w @imagehub/web` against a running `npm start`.
    proxy: { '/graphql': 'http://localhost:4000', '/images': 'http://localhost:4000' },
  },
});
