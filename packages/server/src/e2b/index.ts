export { E2bEndpoint, ENVD_PORT, CODE_INTERPRETER_PORT, type E2bEndpointOptions } from './endpoint.js';
export {
  TemplateImages,
  CODE_INTERPRETER_IMAGE,
  BASE_TEMPLATE,
  CODE_INTERPRETER_TEMPLATE,
} from './templates.js';
export { e2bFormOf, keyFromE2bForm, type KeyCheck } from './access.js';
export type { PortProxy } from './ports/port-proxy.js';
