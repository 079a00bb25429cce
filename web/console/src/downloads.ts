// A file the API answers with (a template, the register, the briefing), saved under `filename`;
// an error answer is thrown as its problem instead.
import { json } from "@roadbranch/api";
import { api } from "./api";

export async function download(service: string, path: string, filename: string): Promise<void> {
  const answer = await api.raw(service, path);
  if (!answer.ok) await json(answer);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await answer.blob());
  link.download = filename;
  link.click();
  URL.revokeObjectURL(link.href);
}
