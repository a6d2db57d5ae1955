export { startServer, serve, createLogger, type RunningServer, type StartOptions } from './main.js';
export { openLocalAdmin, type LocalAdmin } from './admin.js';
export { keyToWire, auditToWire } from './api/routes/tenancy.js';
export {
  loadConfig,
  checkBindSafety,
  describeConfig,
  ConfigSchema,
  type Config,
  type LoadConfigOptions,
} from './config.js';
export {
  ensureDefaultImage,
  buildsDefaultImage,
  DEFAULT_IMAGE,
  type DefaultImageOptions,
} from './images/default-image.js';
export { BURROW_VERSION } from './version.js';
export {
  runDoctor,
  formatDoctor,
  formatCheck,
  requiredFailures,
  assertReadyToServe,
  type DoctorOptions,
} from './doctor/doctor.js';
export { CHECK_IDS, START_CHECKS, type CheckId, type CheckResult, type CheckStatus } from './doctor/types.js';
export {
  logProgress,
  noProgress,
  type Progress,
  type ProgressFactory,
  type ProgressFields,
} from './progress/progress.js';
export { formatBytes, formatElapsed } from './util/format.js';
export { listMadeImages, madeImages, type MadeImage } from './images/made-images.js';
