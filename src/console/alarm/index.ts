export { type AlarmEvaluator, createAlarmEvaluator, EVALUATOR_LEASE } from "./evaluator.js";
export { type AlarmOptions, alarmOptionsFromEnv, DEFAULT_ALARM_OPTIONS } from "./options.js";
export { alarmRoutes } from "./routes.js";
