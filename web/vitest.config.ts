// Unit tests of the client logic and the pages' pure parts (`npm test`, run by `make test`).
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [vue()],
  test: {
    environment: "happy-dom",
    include: ["api/**/*.test.ts", "console/**/*.test.ts", "driver/**/*.test.ts"],
  },
});
