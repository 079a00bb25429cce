import { describe, expect, it } from "vitest";
import { type Station, byRoadMarker, isOpen, normaliseRoad, parseMarker } from "./stations";

const station = (id: string, extra: Partial<Station>): Station => ({
  station_id: id,
  name: id,
  road: "S208",
  km_marker: 100,
  status: "open",
  free_beds: 2,
  hours: { open_all_day: true },
  ...extra,
});

describe("stations by road and km marker", () => {
  it("reads roads and markers as drivers type them", () => {
    expect(normaliseRoad(" s 208 ")).toBe("S208");
    expect(parseMarker("K120+500")).toBe(120.5);
    expect(parseMarker("112.5")).toBe(112.5);
    expect(parseMarker("k 7")).toBe(7);
    expect(parseMarker("附近")).toBeNaN();
  });

  it("knows opening hours, across midnight too, in Beijing time", () => {
    expect(isOpen({ opens: "08:00", closes: "20:00" }, "07:59")).toBe(false);
    expect(isOpen({ opens: "08:00:00", closes: "20:00:00" }, "08:00")).toBe(true);
    expect(isOpen({ opens: "20:00", closes: "06:00" }, "23:30")).toBe(true);
    expect(isOpen({ opens: "20:00", closes: "06:00" }, "12:00")).toBe(false);
  });

  it("lists the open stations with a free bed on his road, nearest marker first", () => {
    const noon = new Date("2026-05-01T04:00:00Z"); // 12:00 in Beijing
    const found = byRoadMarker(
      [
        station("far", { km_marker: 150 }),
        station("near", { km_marker: 118 }),
        station("full", { km_marker: 121, free_beds: 0 }),
        station("closed", { km_marker: 122, hours: { opens: "18:00", closes: "23:00" } }),
        station("shut", { km_marker: 119, status: "closed" }),
        station("other road", { road: "G348", km_marker: 120 }),
      ],
      "s208",
      120.5,
      noon,
    );
    expect(found.map((s) => [s.station_id, s.distance_km])).toEqual([
      ["near", 2.5],
      ["far", 29.5],
    ]);
  });
});
