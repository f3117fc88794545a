export { ENGINES, type Engine } from "./engine.js";
export { openStore, parseStoreUrl, type Store, type StoreLocation } from "./open.js";
export type { Db, Schema } from "./schema.js";
