import { createApp } from "vue";
import "vant/lib/index.css";
import App from "./App.vue";
import { rememberResult } from "./known";
import { router } from "./router";
import { onSent, startSync } from "./sync";
import "./style.css";

// The service worker (offline start, the last data); WeChat's X5/XWeb have it, older ones do without.
if (import.meta.env.PROD && "serviceWorker" in navigator) {
  navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`, { scope: import.meta.env.BASE_URL }).catch(() => {});
}

onSent((report) => {
  for (const { item, body } of report.sent) {
    if (item.kind === "make_up" || item.kind === "declaration" || item.kind === "contact") rememberResult(`${item.kind}:${item.ref ?? ""}`, body);
  }
});

startSync();
createApp(App).use(router).mount("#app");
