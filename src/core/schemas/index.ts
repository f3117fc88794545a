export * from "./auth.js";
export * from "./common.js";
export * from "./naming.js";
export * from "./monitor.js";
export * from "./alarm.js";
