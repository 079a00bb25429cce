// The driver's app: built into dist/, which the gateway (nginx) serves under /driver/. The build
// also writes dist/sw.js, the service worker, from src/sw.js with the list of built files and a
// version made from their contents. `npm run dev` proxies /api to ROADBRANCH_GATEWAY.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import vue from "@vitejs/plugin-vue";
import { type Plugin, defineConfig } from "vite";

const BASE = "/driver/";

function serviceWorker(): Plugin {
  let outDir = "dist";
  return {
    name: "roadbranch-service-worker",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    writeBundle(_, bundle) {
      const files = Object.keys(bundle)
        .filter((name) => !name.endsWith(".map"))
        .sort();
      const hash = createHash("sha256");
      for (const name of files) {
        const chunk = bundle[name];
        hash.update(name);
        hash.update(chunk.type === "chunk" ? chunk.code : chunk.source);
      }
      const version = hash.digest("hex").slice(0, 12);
      // The shell: index.html (every route of the app) and the hashed assets.
      const shell = files.map((name) => (name === "index.html" ? `${BASE}index.html` : `${BASE}${name}`));
      const source = readFileSync(new URL("./src/sw.js", import.meta.url), "utf-8")
        .replace('"__VERSION__"', JSON.stringify(version))
        .replace("[] /* __SHELL__ */", JSON.stringify(shell, null, 2));
      writeFileSync(join(outDir, "sw.js"), source);
    },
  };
}

export default defineConfig({
  plugins: [vue(), serviceWorker()],
  base: BASE,
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500, target: "es2019" },
  server: {
    proxy: process.env.ROADBRANCH_GATEWAY ? { "/api": process.env.ROADBRANCH_GATEWAY } : undefined,
  },
});
