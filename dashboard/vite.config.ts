import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'
import { bundleSize } from './bundle-size.ts'

// The API serves the built dashboard at `/` on its own origin, so the page calls `/api` relatively;
// in development Vite stands in for that origin and forwards `/api` (WebSocket included) to the API.
const api = { target: 'http://127.0.0.1:8080', ws: true }

export default defineConfig({
  base: '/',
  plugins: [vue(), bundleSize()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy: { '/api': api } },
  preview: { proxy: { '/api': api } },
})
