import { ApiProblem } from "@roadbranch/api";
import { describe, expect, it } from "vitest";
import { CAMPAIGN_ITEMS } from "./labels";
import { itemsHandedOut, ledgerRows, ledgerTotal, splitList, unplaced } from "./warm";

describe("a campaign's stock ledger", () => {
  const stock = {
    gloves: { received: 50, issued: 12, on_hand: 38, label: "" },
    heatstroke_relief: { received: 20, issued: 20, on_hand: 0, label: "藿香正气水" },
    blankets: { received: 5, issued: 1 },
  };

  it("names each item in Chinese and says what is left", () => {
    expect(ledgerRows(stock, CAMPAIGN_ITEMS)).toEqual([
      { item: "gloves", label: "手套", received: 50, issued: 12, left: 38 },
      { item: "heatstroke_relief", label: "藿香正气水", received: 20, issued: 20, left: 0 },
      { item: "blankets", label: "blankets", received: 5, issued: 1, left: 4 },
    ]);
  });

  it("adds up every item; an empty ledger is all zero", () => {
    expect(ledgerTotal(ledgerRows(stock, CAMPAIGN_ITEMS))).toEqual({ received: 75, issued: 33, left: 42 });
    expect(ledgerRows(undefined)).toEqual([]);
    expect(ledgerTotal([])).toEqual({ received: 0, issued: 0, left: 0 });
  });
});

describe("a visit's form", () => {
  it("hands out only the items with a quantity, and sends a bad one for the service to refuse", () => {
    expect(itemsHandedOut({ gloves: 2, heatstroke_relief: 0, epidemic_supplies: undefined, x: null })).toEqual({ gloves: 2 });
    expect(itemsHandedOut({ gloves: -1 })).toEqual({ gloves: -1 });
  });

  it("splits a typed list at commas, 顿号 and line breaks, blanks only when asked", () => {
    expect(splitList("驾驶证审验咨询、代办预约， 代办预约\n")).toEqual(["驾驶证审验咨询", "代办预约"]);
    expect(splitList("officer-1 officer-2,officer-1", true)).toEqual(["officer-1", "officer-2"]);
    expect(splitList("夜间 停车")).toEqual(["夜间 停车"]);
    expect(splitList("  ")).toEqual([]);
  });
});

describe("a refusal no field shows", () => {
  it("keeps the messages of the fields the form does not place", () => {
    const problem = new ApiProblem(409, "conflict", "活动已结束，不能再登记", [
      { field: "campaign_id", reason: "closed", message: "活动已结束，不能再登记" },
      { field: "body.driver_id", reason: "required", message: "必填。" },
    ]);
    expect(unplaced(problem, (f) => f === "driver_id")).toBe("活动已结束，不能再登记");
    expect(unplaced(problem, () => true)).toBe("");
    expect(unplaced(null, () => false)).toBe("");
  });
});
