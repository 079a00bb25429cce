import { describe, expect, it } from "vitest";
import { beijing, fromBeijing } from "./time";

describe("Beijing time", () => {
  it("shows an instant as the date and time in Beijing, across midnight", () => {
    expect(beijing("2026-12-06T16:05:00Z")).toBe("2026-12-07 00:05");
    expect(beijing("2026-12-06T16:05:09.5Z", true)).toBe("2026-12-07 00:05:09");
    expect(beijing("2026-06-30T23:59:00+08:00")).toBe("2026-06-30 23:59");
  });

  it("shows nothing for nothing or nonsense", () => {
    expect(beijing(null)).toBe("");
    expect(beijing("")).toBe("");
    expect(beijing("not a date")).toBe("");
  });

  it("turns a time typed in Beijing into the instant, whatever the browser's zone", () => {
    expect(fromBeijing("2026-12-07 00:05")).toBe("2026-12-06T16:05:00.000Z");
    expect(fromBeijing("2026-01-01T08:00:30")).toBe("2026-01-01T00:00:30.000Z");
    expect(beijing(fromBeijing("2026-07-01 19:30"))).toBe("2026-07-01 19:30");
  });

  it("refuses what is not a date and time", () => {
    expect(() => fromBeijing("明天下午")).toThrow();
  });
});
