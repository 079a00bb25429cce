// The staff console: built into dist/, which the gateway (nginx) serves at /. `npm run dev` proxies
// /api/<service>/ to a running stack's gateway (ROADBRANCH_GATEWAY, e.g. http://127.0.0.1:8080).
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [vue()],
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: process.env.ROADBRANCH_GATEWAY ? { "/api": process.env.ROADBRANCH_GATEWAY } : undefined,
  },
});
