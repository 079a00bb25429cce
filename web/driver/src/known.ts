// What this phone has seen, for what the services do not list for a driver: the learning items he
// opened (from a link in a message or the group) and the meetings he was shown, so a meeting held
// since can offer its make-up (补学). Kept in localStorage, forgotten at sign-out.
import { storage } from "./api";

const KEY = "roadbranch.driver.known";

export interface KnownContent {
  content_id: string;
  title: string;
  category: string;
  published_at?: string | null;
  confirmed?: boolean;
}

export interface KnownMeeting {
  meeting_id: string;
  topic: string;
  kind: string;
  starts_at: string;
}

interface Known {
  contents: KnownContent[];
  meetings: KnownMeeting[];
  results: Record<string, unknown>;
}

function read(): Known {
  try {
    const found = JSON.parse(storage.getItem(KEY) ?? "null") as Partial<Known> | null;
    return { contents: found?.contents ?? [], meetings: found?.meetings ?? [], results: found?.results ?? {} };
  } catch {
    return { contents: [], meetings: [], results: {} };
  }
}

function write(known: Known): void {
  storage.setItem(KEY, JSON.stringify(known));
}

export function knownContents(): KnownContent[] {
  return read().contents;
}

export function rememberContent(item: KnownContent): void {
  const known = read();
  known.contents = [item, ...known.contents.filter((c) => c.content_id !== item.content_id)].slice(0, 100);
  write(known);
}

export function knownMeetings(): KnownMeeting[] {
  return read().meetings;
}

export function rememberMeetings(items: KnownMeeting[]): void {
  const known = read();
  const ids = new Set(items.map((m) => m.meeting_id));
  known.meetings = [...items, ...known.meetings.filter((m) => !ids.has(m.meeting_id))].slice(0, 100);
  write(known);
}

/** The answer of a sent action worth showing later (a make-up quiz's result), by what it is about. */
export function rememberResult(ref: string, body: unknown): void {
  const known = read();
  known.results[ref] = body;
  write(known);
}

export function resultOf(ref: string): unknown {
  return read().results[ref];
}

export function forgetKnown(): void {
  storage.removeItem(KEY);
}
