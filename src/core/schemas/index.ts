export * from "./alarm.js";
export * from "./artifact.js";
export * from "./auth.js";
export * from "./common.js";
export * from "./machine.js";
export * from "./monitor.js";
export * from "./naming.js";
export * from "./release.js";
