/** core: types, wire formats, errors and validation schemas shared by every part. */
export * from "./errors.js";
export * from "./roles.js";
export * as schemas from "./schemas/index.js";
export { VERSION } from "./version.js";
