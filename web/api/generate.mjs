// Types of every service's HTTP API, from the OpenAPI documents committed under openapi/
// (written by `make contracts`). Run by `npm run generate`; the output is not committed.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import openapiTS, { astToString } from "openapi-typescript";

const here = new URL(".", import.meta.url);
const out = new URL("src/generated/", here);
mkdirSync(out, { recursive: true });
const services = readdirSync(new URL("openapi/", here)).filter((f) => f.endsWith(".json"));
for (const file of services) {
  const document = JSON.parse(readFileSync(new URL(`openapi/${file}`, here), "utf-8"));
  const ast = await openapiTS(document);
  const name = file.replace(/\.json$/, "");
  writeFileSync(new URL(`${name}.ts`, out), `// Generated from openapi/${file}; do not edit.\n${astToString(ast)}`);
}
console.log(`API types for ${services.length} services in src/generated/`);
