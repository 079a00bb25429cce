import { describe, expect, it } from "vitest";
import { SECTIONS, homeFor, mayOpen, menuFor } from "./menu";

describe("menus by role", () => {
  it("a welfare officer sees the needs inbox and nothing of finding members", () => {
    const titles = menuFor("welfare_officer").flatMap((s) => s.pages.map((p) => p.title));
    expect(titles).toContain("诉求受理");
    expect(titles).not.toContain("名单导入");
    expect(titles).not.toContain("账号与角色");
  });

  it("only the work group imports lists; the administrator manages accounts and nothing else", () => {
    expect(menuFor("work_group_staff").flatMap((s) => s.pages).map((p) => p.path)).toContain("/find/imports");
    expect(menuFor("administrator").map((s) => s.title)).toEqual(["系统"]);
  });

  it("no role, no menu; every page belongs to some role", () => {
    expect(menuFor(undefined)).toEqual([]);
    expect(menuFor("driver")).toEqual([]);
    for (const page of SECTIONS.flatMap((s) => s.pages)) expect(page.roles.length).toBeGreaterThan(0);
  });

  it("a page outside one's menu may not be opened, even below its path", () => {
    expect(mayOpen("welfare_officer", "/find/imports")).toBe(false);
    expect(mayOpen("work_group_staff", "/find/imports")).toBe(true);
    expect(mayOpen("instructor", "/gather/meetings/mtg_1")).toBe(true);
    expect(mayOpen("instructor", "/")).toBe(true);
  });

  it("each role lands on its first page", () => {
    expect(homeFor("welfare_officer")).toBe("/warm/needs");
    expect(homeFor("administrator")).toBe("/system/accounts");
    expect(homeFor(null)).toBe("/");
  });
});
