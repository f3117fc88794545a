export {
  createLeaseKeeper,
  heldUntil,
  type LeaseBackend,
  type LeaseKeeper,
  type LeaseOptions,
  storeLeases,
} from "./keeper.js";
export { acquireLease, readLease, releaseLease } from "./repo.js";
