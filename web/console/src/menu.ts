// What each role sees: the five parts of the work (找出来、联起来、聚起来、暖起来、简报) and the
// notices and system pages, each page listed for the roles whose API calls it needs.

export type Role =
  | "work_group_staff"
  | "org_department"
  | "branch_secretary"
  | "instructor"
  | "welfare_officer"
  | "station_staff"
  | "operator"
  | "administrator";

export const ROLE_LABELS: Record<Role, string> = {
  work_group_staff: "试点工作专班",
  org_department: "县委组织部",
  branch_secretary: "支部书记",
  instructor: "指导员",
  welfare_officer: "权益保障组",
  station_staff: "驿站工作人员",
  operator: "运维人员（只读）",
  administrator: "系统管理员",
};

export interface Page {
  path: string;
  title: string;
  roles: Role[];
}

export interface Section {
  key: string;
  title: string;
  pages: Page[];
}

const FINDERS: Role[] = ["work_group_staff", "org_department", "operator"];
const TEACHERS: Role[] = ["work_group_staff", "org_department", "branch_secretary", "instructor"];
const CONNECTORS: Role[] = ["work_group_staff", "org_department", "branch_secretary", "operator"];
const WELFARE: Role[] = ["welfare_officer", "work_group_staff"];

export const SECTIONS: Section[] = [
  {
    key: "find",
    title: "找出来",
    pages: [
      { path: "/find/imports", title: "名单导入", roles: ["work_group_staff"] },
      { path: "/find/search", title: "查找司机", roles: FINDERS },
      { path: "/find/members", title: "党员身份核实", roles: FINDERS },
      { path: "/find/ledger", title: "党员档案", roles: [...FINDERS, "branch_secretary"] },
    ],
  },
  {
    key: "connect",
    title: "联起来",
    pages: [
      { path: "/connect/organisations", title: "组织体系", roles: CONNECTORS },
      { path: "/connect/pairings", title: "结对帮带", roles: CONNECTORS },
    ],
  },
  {
    key: "gather",
    title: "聚起来",
    pages: [
      { path: "/gather/meetings", title: "会议与党课", roles: [...TEACHERS, "operator"] },
      { path: "/gather/contents", title: "学习推送", roles: [...TEACHERS, "operator"] },
      { path: "/gather/questions", title: "题库", roles: [...TEACHERS, "operator"] },
      { path: "/gather/compliance", title: "组织生活达标", roles: ["work_group_staff", "org_department", "branch_secretary", "instructor", "operator"] },
    ],
  },
  {
    key: "warm",
    title: "暖起来",
    pages: [
      { path: "/warm/needs", title: "诉求受理", roles: WELFARE },
      { path: "/warm/stations", title: "暖心之家驿站", roles: [...WELFARE, "station_staff", "org_department", "operator"] },
      { path: "/warm/resources", title: "资源清单", roles: [...WELFARE, "org_department", "operator"] },
      { path: "/warm/campaigns", title: "关爱活动", roles: WELFARE },
    ],
  },
  {
    key: "brief",
    title: "简报",
    pages: [
      {
        path: "/briefing",
        title: "工作简报",
        roles: ["work_group_staff", "org_department", "branch_secretary", "operator"],
      },
    ],
  },
  {
    key: "notify",
    title: "通知",
    pages: [
      { path: "/notify/deliveries", title: "发送记录", roles: ["work_group_staff", "org_department", "operator"] },
      { path: "/notify/staff", title: "工作人员通讯录", roles: ["work_group_staff", "operator"] },
    ],
  },
  {
    key: "system",
    title: "系统",
    pages: [
      { path: "/system/accounts", title: "账号与角色", roles: ["administrator"] },
      { path: "/system/audit", title: "登录与账号审计", roles: ["administrator", "org_department"] },
      { path: "/system/roster-audit", title: "敏感信息查阅审计", roles: ["administrator", "org_department"] },
    ],
  },
];

/** The sections a role sees, each with only the pages it may use; empty sections left out. */
export function menuFor(role: string | null | undefined): Section[] {
  if (!role) return [];
  return SECTIONS.map((s) => ({ ...s, pages: s.pages.filter((p) => p.roles.includes(role as Role)) })).filter(
    (s) => s.pages.length > 0,
  );
}

/** May this role open the page at `path`? Pages not in the menu (home, sign-in) are open to all. */
export function mayOpen(role: string | null | undefined, path: string): boolean {
  const page = SECTIONS.flatMap((s) => s.pages).find((p) => path === p.path || path.startsWith(`${p.path}/`));
  return !page || (!!role && page.roles.includes(role as Role));
}

/** Where a role lands after signing in: its first page. */
export function homeFor(role: string | null | undefined): string {
  return menuFor(role)[0]?.pages[0]?.path ?? "/";
}
