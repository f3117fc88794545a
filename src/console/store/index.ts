export { ENGINES, type Engine } from "./engine.js";
export {
  type NativeHandle,
  onSqliteConnection,
  openStore,
  parseStoreUrl,
  type Store,
  type StoreLocation,
} from "./open.js";
export type { Db, Schema } from "./schema.js";
