export { startServer, serve, createLogger, type RunningServer, type StartOptions } from './main.js';
export {
  loadConfig,
  checkBindSafety,
  describeConfig,
  ConfigSchema,
  type Config,
  type LoadConfigOptions,
} from './config.js';
export { ensureDefaultImage, DEFAULT_IMAGE, type DefaultImageOptions } from './images/default-image.js';
export { BURROW_VERSION } from './version.js';
