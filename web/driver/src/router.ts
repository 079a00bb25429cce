// The driver app's pages under /driver/; every page but sign-in needs a session.
import { createRouter, createWebHistory } from "vue-router";
import { sessions } from "./api";

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes: [
    { path: "/", redirect: "/inbox" },
    { path: "/login", component: () => import("./pages/LoginPage.vue"), meta: { public: true, title: "登录" } },
    { path: "/inbox", component: () => import("./pages/InboxPage.vue"), meta: { tab: true, title: "消息" } },
    { path: "/learn", component: () => import("./pages/LearnPage.vue"), meta: { tab: true, title: "学习" } },
    { path: "/learn/:id", component: () => import("./pages/ContentPage.vue"), meta: { title: "学习内容" } },
    { path: "/make-up/:id", component: () => import("./pages/MakeUpPage.vue"), meta: { title: "补学" } },
    { path: "/meetings", component: () => import("./pages/MeetingsPage.vue"), meta: { tab: true, title: "会议" } },
    // The venue's QR code or a message may link here: /driver/check-in?meeting=…&code=…
    { path: "/check-in", redirect: (to) => ({ path: "/meetings", query: to.query }) },
    { path: "/needs", component: () => import("./pages/NeedsPage.vue"), meta: { tab: true, title: "诉求" } },
    { path: "/needs/new", component: () => import("./pages/NeedFormPage.vue"), meta: { title: "提交诉求" } },
    { path: "/stations", component: () => import("./pages/StationsPage.vue"), meta: { title: "暖心之家" } },
    { path: "/me", component: () => import("./pages/MePage.vue"), meta: { tab: true, title: "我的" } },
    { path: "/:rest(.*)*", redirect: "/inbox" },
  ],
});

router.beforeEach((to) => {
  if (!to.meta.public && !sessions.get()) return { path: "/login", query: { next: to.fullPath } };
  if (to.path === "/login" && sessions.get()) return "/inbox";
  return true;
});

router.afterEach((to) => {
  document.title = `${to.meta.title ?? ""}${to.meta.title ? " · " : ""}党员司机之家`;
});
