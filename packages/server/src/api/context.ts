/** What route modules share: the engine and the app's options. */
import type { Resources } from '@burrow/protocol';
import type { Engine } from '../engine/engine.js';
import type { Origins } from './cors.js';

export interface VersionInfo {
  version: string;
  commit: string;
  buildDate: string;
}

export interface ApiContext {
  engine: Engine;
  origins: Origins;
  maxFileBytes: number;
  maxJsonBytes: number;
  version: VersionInfo;
  ping(): Promise<void>;
  resources(): Promise<Resources>;
  /** Background processes and watches work on this server's path into sandboxes. */
  interactive: boolean;
}
