import { describe, expect, it } from "vitest";
import { appLink } from "./links";

const BASE = "https://county.example/driver/";

describe("a notice's link into the app", () => {
  it("becomes a route, and leaves the sentence readable without the address", () => {
    const text =
      "新发布安全常识：“冬季防滑链”。停车休息时点开 https://county.example/driver/learn/cnt_01ab 即可阅读，离乡不离党、流动不流学。";
    expect(appLink(text, BASE)).toEqual({
      text: "新发布安全常识：“冬季防滑链”。停车休息时点开即可阅读，离乡不离党、流动不流学。",
      to: "/learn/cnt_01ab",
    });
  });

  it("takes the app's address with or without its last slash", () => {
    expect(appLink("点开 https://county.example/driver/learn/x 阅读", "https://county.example/driver").to).toBe(
      "/learn/x",
    );
  });

  it("leaves a link to anywhere else, or to another site's /driver, as text", () => {
    const elsewhere = "详见 https://other.example/driver/learn/x 。";
    expect(appLink(elsewhere, BASE)).toEqual({ text: elsewhere, to: null });
    expect(appLink("没有链接的消息", BASE)).toEqual({ text: "没有链接的消息", to: null });
  });
});
