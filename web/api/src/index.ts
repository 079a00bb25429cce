export * from "./errors";
export * from "./http";
export * from "./session";
export * from "./time";
export * from "./codes";
