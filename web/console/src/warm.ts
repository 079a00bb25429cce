// The 暖起来 pages' pure parts: a campaign's stock ledger as rows, what a visit hands out, lists typed
// into one field, and the messages of an API refusal that no field of the form shows.
import type { ApiProblem } from "@roadbranch/api";

export interface StockLine {
  received: number;
  issued: number;
  on_hand?: number;
  label?: string;
}

export interface LedgerRow {
  item: string;
  label: string;
  received: number;
  issued: number;
  left: number;
}

/** The ledger (item -> line) as rows in the order received, each named in Chinese: the line's own
 * label, else the known item's name, else its code. */
export function ledgerRows(stock: Record<string, StockLine> | null | undefined, names: Record<string, string> = {}): LedgerRow[] {
  return Object.entries(stock ?? {}).map(([item, line]) => ({
    item,
    label: line.label || names[item] || item,
    received: line.received,
    issued: line.issued,
    left: line.on_hand ?? line.received - line.issued,
  }));
}

/** Received, handed out and left over every item. */
export function ledgerTotal(rows: LedgerRow[]): { received: number; issued: number; left: number } {
  return rows.reduce(
    (sum, r) => ({ received: sum.received + r.received, issued: sum.issued + r.issued, left: sum.left + r.left }),
    { received: 0, issued: 0, left: 0 },
  );
}

/** What a visit hands out: the items with a quantity typed, zero and empty left out. A negative or
 * fractional number is sent as typed, for the service to refuse next to its field. */
export function itemsHandedOut(quantities: Record<string, number | null | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [item, n] of Object.entries(quantities)) {
    if (n !== null && n !== undefined && !Number.isNaN(n) && n !== 0) out[item] = n;
  }
  return out;
}

/** "a、b，c; d" -> ["a", "b", "c", "d"]: entries split at Chinese or Latin commas and semicolons,
 * line breaks (and, with `spaces`, blanks), trimmed, empty and repeated ones dropped. */
export function splitList(text: string, spaces = false): string[] {
  const separators = spaces ? /[、，,；;\n\s]+/ : /[、，,；;\n]+/;
  const seen = new Set<string>();
  for (const part of text.split(separators)) {
    const entry = part.trim();
    if (entry) seen.add(entry);
  }
  return [...seen];
}

/** The messages of a refusal's fields that the form does not show next to a field, joined; so
 * nothing the service says is lost (e.g. a campaign closed meanwhile, a station full). */
export function unplaced(problem: ApiProblem | null | undefined, placed: (field: string) => boolean): string {
  if (!problem) return "";
  const rest = Object.entries(problem.byField)
    .filter(([field]) => !placed(field))
    .map(([, message]) => message);
  return rest.join("；");
}
