import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
import { auth, loadMe } from "./auth";
import { homeFor, mayOpen } from "./menu";

const routes: RouteRecordRaw[] = [
  { path: "/login", component: () => import("./pages/LoginPage.vue"), meta: { open: true, title: "登录" } },
  { path: "/", component: () => import("./pages/HomePage.vue"), meta: { title: "首页" } },
  { path: "/find/imports", component: () => import("./pages/ImportsPage.vue"), meta: { title: "名单导入" } },
  { path: "/find/search", component: () => import("./pages/SearchPage.vue"), meta: { title: "查找司机" } },
  { path: "/find/members", component: () => import("./pages/MembersPage.vue"), meta: { title: "党员身份核实" } },
  { path: "/find/ledger", component: () => import("./pages/LedgerPage.vue"), meta: { title: "党员档案" } },
  { path: "/connect/organisations", component: () => import("./pages/OrganisationsPage.vue"), meta: { title: "组织体系" } },
  { path: "/connect/pairings", component: () => import("./pages/PairingsPage.vue"), meta: { title: "结对帮带" } },
  { path: "/gather/meetings", component: () => import("./pages/MeetingsPage.vue"), meta: { title: "会议与党课" } },
  { path: "/gather/contents", component: () => import("./pages/ContentsPage.vue"), meta: { title: "学习推送" } },
  { path: "/gather/questions", component: () => import("./pages/QuestionsPage.vue"), meta: { title: "题库" } },
  { path: "/gather/compliance", component: () => import("./pages/CompliancePage.vue"), meta: { title: "组织生活达标" } },
  { path: "/warm/needs", component: () => import("./pages/NeedsPage.vue"), meta: { title: "诉求受理" } },
  { path: "/warm/stations", component: () => import("./pages/StationsPage.vue"), meta: { title: "暖心之家驿站" } },
  { path: "/warm/resources", component: () => import("./pages/ResourcesPage.vue"), meta: { title: "资源清单" } },
  { path: "/warm/campaigns", component: () => import("./pages/CampaignsPage.vue"), meta: { title: "关爱活动" } },
  { path: "/briefing", component: () => import("./pages/BriefingPage.vue"), meta: { title: "工作简报" } },
  { path: "/notify/deliveries", component: () => import("./pages/DeliveriesPage.vue"), meta: { title: "发送记录" } },
  { path: "/notify/staff", component: () => import("./pages/StaffPage.vue"), meta: { title: "工作人员通讯录" } },
  { path: "/system/accounts", component: () => import("./pages/AccountsPage.vue"), meta: { title: "账号与角色" } },
  { path: "/system/audit", component: () => import("./pages/AuditPage.vue"), meta: { title: "登录与账号审计" } },
  { path: "/system/roster-audit", component: () => import("./pages/RosterAuditPage.vue"), meta: { title: "敏感信息查阅审计" } },
  { path: "/:rest(.*)*", component: () => import("./pages/NotFoundPage.vue"), meta: { open: true, title: "页面不存在" } },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach(async (to) => {
  if (to.meta.open) return true;
  const me = auth.loaded ? auth.me : await loadMe();
  if (!me) return { path: "/login", query: { next: to.fullPath } };
  if (to.path === "/") return homeFor(me.role) === "/" ? true : homeFor(me.role);
  if (!mayOpen(me.role, to.path)) return homeFor(me.role);
  return true;
});

router.afterEach((to) => {
  document.title = `${String(to.meta.title ?? "")} · 货车司机党建工作平台`;
});
