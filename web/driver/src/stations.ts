// 暖心之家 by road and km marker (桩号): the open stations with a free bed on the road he typed,
// nearest marker first. (By location the welfare service answers itself: /v1/stations/nearest.)

export interface Station {
  station_id: string;
  name: string;
  road?: string;
  km_marker?: number | null;
  status?: string;
  free_beds: number;
  hours: { open_all_day?: boolean; opens?: string | null; closes?: string | null };
  distance_km?: number;
}

/** "g 348" -> "G348": how people type a road's number. */
export function normaliseRoad(road: string): string {
  return road.replace(/\s+/g, "").toUpperCase();
}

/** "K120+500" or "120.5" -> 120.5; NaN for anything else. */
export function parseMarker(text: string): number {
  const m = /^\s*[Kk]?\s*(\d+(?:\.\d+)?)(?:\s*\+\s*(\d{1,3}))?\s*$/.exec(text);
  if (!m) return Number.NaN;
  return Number(m[1]) + (m[2] ? Number(m[2]) / 1000 : 0);
}

/** The Beijing time of day "HH:MM" of an instant. */
export function beijingClock(at: Date): string {
  const b = new Date(at.getTime() + 8 * 3600 * 1000);
  return `${String(b.getUTCHours()).padStart(2, "0")}:${String(b.getUTCMinutes()).padStart(2, "0")}`;
}

export function isOpen(hours: Station["hours"], clock: string): boolean {
  if (hours.open_all_day) return true;
  if (!hours.opens || !hours.closes) return false;
  const opens = hours.opens.slice(0, 5);
  const closes = hours.closes.slice(0, 5);
  return opens <= closes ? opens <= clock && clock < closes : clock >= opens || clock < closes;
}

export function byRoadMarker(stations: Station[], road: string, km: number, now: Date): Station[] {
  const wanted = normaliseRoad(road);
  const clock = beijingClock(now);
  return stations
    .filter(
      (s) =>
        normaliseRoad(s.road ?? "") === wanted &&
        typeof s.km_marker === "number" &&
        (s.status ?? "open") === "open" &&
        s.free_beds > 0 &&
        isOpen(s.hours, clock),
    )
    .map((s) => ({ ...s, distance_km: Math.round(Math.abs((s.km_marker as number) - km) * 10) / 10 }))
    .sort((a, b) => a.distance_km - b.distance_km);
}
