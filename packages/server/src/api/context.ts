/** What route modules share: the engine and the app's options. */
import type { Resources } from '@burrow/protocol';
import type { Engine } from '../engine/engine.js';
import type { EgressView, PreviewGrant } from '../proxy/sandbox-network.js';
import type { PortMapping } from '../runtime/runtime.js';
import type { Origins } from './cors.js';
import type { TenancyAdmin } from './routes/tenancy.js';

export interface VersionInfo {
  version: string;
  commit: string;
  buildDate: string;
}

/** Sandbox networking as the routes use it (proxy/sandbox-network.ts). */
export interface NetworkApi {
  listPorts(id: string): PortMapping[];
  publish(id: string, mapping: PortMapping): Promise<PortMapping>;
  unpublish(id: string, port: number): Promise<PortMapping[]>;
  preview(id: string, port: number, server: { url: string; port: number }, ttlMs?: number): PreviewGrant;
  setPublic(id: string, port: number, open: boolean): void;
  rotateTokens(id: string): void;
  egressView(id: string): EgressView;
  setEgress(id: string, input: { allow?: string[]; deny?: string[] }): EgressView;
}

export interface ApiContext {
  engine: Engine;
  /** Published ports, previews and egress; without it ports are listed only and the rest answers 501. */
  network: NetworkApi | undefined;
  origins: Origins;
  maxFileBytes: number;
  maxJsonBytes: number;
  webSocketHeartbeatMs?: number;
  version: VersionInfo;
  ping(): Promise<void>;
  resources(): Promise<Resources>;
  /** Background processes and watches work on this server's path into sandboxes. */
  interactive: boolean;
  /** Stored keys and the audit log, for the admin routes. */
  tenancy: TenancyAdmin | undefined;
}
