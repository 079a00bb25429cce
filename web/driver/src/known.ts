// What this phone has seen, for what the services do not list for a driver: the learning items he
// opened (from a link in a message or the group), and the answers of sent actions worth showing
// later. Kept in localStorage, forgotten at sign-out.
import { ref } from "vue";
import { storage } from "./api";

const KEY = "roadbranch.driver.known";

export interface KnownContent {
  content_id: string;
  title: string;
  category: string;
  published_at?: string | null;
  confirmed?: boolean;
}

interface Known {
  contents: KnownContent[];
  results: Record<string, unknown>;
}

function read(): Known {
  try {
    const found = JSON.parse(storage.getItem(KEY) ?? "null") as Partial<Known> | null;
    return { contents: found?.contents ?? [], results: found?.results ?? {} };
  } catch {
    return { contents: [], results: {} };
  }
}

// Bumped on every write, so what the pages compute from this store follows it.
const version = ref(0);

function write(known: Known): void {
  storage.setItem(KEY, JSON.stringify(known));
  version.value += 1;
}

export function knownContents(): KnownContent[] {
  return read().contents;
}

export function rememberContent(item: KnownContent): void {
  const known = read();
  known.contents = [item, ...known.contents.filter((c) => c.content_id !== item.content_id)].slice(0, 100);
  write(known);
}

/** The answer of a sent action worth showing later (a make-up quiz's result), by what it is about. */
export function rememberResult(ref: string, body: unknown): void {
  const known = read();
  known.results[ref] = body;
  write(known);
}

export function resultOf(about: string): unknown {
  void version.value;
  return read().results[about];
}

export function forgetKnown(): void {
  storage.removeItem(KEY);
  version.value += 1;
}
