// The Chinese names of the codes the services answer with: one table for both front ends, in
// @roadbranch/api (web/api/src/codes.ts).
export * from "@roadbranch/api/src/codes";
