// Dates as county staff read them: Beijing time (Asia/Shanghai, UTC+8, no daylight saving).

const OFFSET_MS = 8 * 3600 * 1000;
const pad = (n: number) => String(n).padStart(2, "0");

/** "2026-12-06T16:05:00Z" -> "2026-12-07 00:05" (Beijing); "" for nothing. */
export function beijing(instant: string | number | Date | null | undefined, withSeconds = false): string {
  if (instant === null || instant === undefined || instant === "") return "";
  const at = new Date(instant);
  if (Number.isNaN(at.getTime())) return "";
  const b = new Date(at.getTime() + OFFSET_MS);
  const day = `${b.getUTCFullYear()}-${pad(b.getUTCMonth() + 1)}-${pad(b.getUTCDate())}`;
  const time = `${pad(b.getUTCHours())}:${pad(b.getUTCMinutes())}`;
  return `${day} ${time}${withSeconds ? `:${pad(b.getUTCSeconds())}` : ""}`;
}

/** "2026-12-07 00:05" (Beijing, as typed or picked) -> "2026-12-06T16:05:00.000Z". */
export function fromBeijing(local: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local.trim());
  if (!m) throw new Error(`not a Beijing date and time: ${local}`);
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s || 0) - OFFSET_MS).toISOString();
}
