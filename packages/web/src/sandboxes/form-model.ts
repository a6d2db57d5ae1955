/**
 * The create form as data: text fields as typed, turned into the SDK's create options with a message per field
 * that does not parse, and the API's validation errors (which name the wire field first) mapped back to a field.
 */
import type {
  CreateSandboxOptions,
  EgressSecret,
  IsolationRuntime,
  NetworkMode,
  PortMapping,
  TmpfsMount,
  VolumeMount,
} from '@burrow/sdk';

export interface FormState {
  image: string;
  timeoutSeconds: string;
  cpus: string;
  memoryMiB: string;
  pidLimit: string;
  diskLimitMiB: string;
  networkMode: '' | NetworkMode;
  /** Isolation runtime (feature `runtime_choice`); empty: the server's default. */
  runtime: '' | IsolationRuntime;
  /** Egress allowlist and denylist (feature `egress_policy`), one destination per line. */
  egressAllow: string;
  egressDeny: string;
  /** Headers the egress proxy adds (feature `egress_secrets`): `HOST HEADER: VALUE` lines. */
  secrets: string;
  /** Ports whose preview URLs need no token (feature `preview_urls`), by commas or spaces. */
  publicPorts: string;
  writableRootfs: boolean;
  workdir: string;
  cmd: string;
  env: string;
  labels: string;
  ports: string;
  volumes: string;
  tmpfs: string;
  s3Bucket: string;
  s3Mode: 'hooks' | 'fuse' | 'on_demand';
  s3Prefix: string;
  s3Endpoint: string;
  s3Region: string;
  s3AccessKey: string;
  s3SecretKey: string;
  s3SyncPath: string;
  s3MountPath: string;
}

export type FieldName = keyof FormState;
export type FieldErrors = Partial<Record<FieldName, string>>;

export const EMPTY_FORM: FormState = {
  image: '',
  timeoutSeconds: '1800',
  cpus: '',
  memoryMiB: '',
  pidLimit: '',
  diskLimitMiB: '',
  networkMode: '',
  runtime: '',
  egressAllow: '',
  egressDeny: '',
  secrets: '',
  publicPorts: '',
  writableRootfs: false,
  workdir: '',
  cmd: '',
  env: '',
  labels: '',
  ports: '',
  volumes: '',
  tmpfs: '',
  s3Bucket: '',
  s3Mode: 'hooks',
  s3Prefix: '',
  s3Endpoint: '',
  s3Region: '',
  s3AccessKey: '',
  s3SecretKey: '',
  s3SyncPath: '',
  s3MountPath: '',
};

const lines = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');

function number(text: string, field: FieldName, errors: FieldErrors, integer: boolean): number | undefined {
  if (text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    errors[field] = `enter a ${integer ? 'whole ' : ''}number of 0 or more`;
    return undefined;
  }
  return value;
}

/** `KEY=value` lines. */
function pairs(text: string, field: FieldName, errors: FieldErrors): Record<string, string> | undefined {
  const result: Record<string, string> = {};
  for (const line of lines(text)) {
    const at = line.indexOf('=');
    if (at <= 0) {
      errors[field] = `"${line}" is not KEY=value`;
      return undefined;
    }
    result[line.slice(0, at)] = line.slice(at + 1);
  }
  return Object.keys(result).length === 0 ? undefined : result;
}

function parsePorts(text: string, errors: FieldErrors): PortMapping[] | undefined {
  const ports: PortMapping[] = [];
  for (const line of lines(text)) {
    const match = /^(\d+):(\d+)$/.exec(line);
    if (match === null) {
      errors.ports = `"${line}" is not SANDBOX_PORT:HOST_PORT`;
      return undefined;
    }
    ports.push({ sandboxPort: Number(match[1]), hostPort: Number(match[2]) });
  }
  return ports.length === 0 ? undefined : ports;
}

function parseVolumes(text: string, errors: FieldErrors): VolumeMount[] | undefined {
  const volumes: VolumeMount[] = [];
  for (const line of lines(text)) {
    const match = /^([^:]+):(\/[^:]*)(?::(ro|rw))?$/.exec(line);
    if (match === null) {
      errors.volumes = `"${line}" is not NAME:/path[:ro]`;
      return undefined;
    }
    volumes.push({ name: match[1] as string, mountPath: match[2] as string, readOnly: match[3] === 'ro' });
  }
  return volumes.length === 0 ? undefined : volumes;
}

function parseTmpfs(text: string, errors: FieldErrors): TmpfsMount[] | undefined {
  const mounts: TmpfsMount[] = [];
  for (const line of lines(text)) {
    const match = /^(\/[^:]*):([0-9]+[kmg])(?::(.+))?$/i.exec(line);
    if (match === null) {
      errors.tmpfs = `"${line}" is not /path:SIZE[:options] (size like 64m)`;
      return undefined;
    }
    mounts.push({
      path: match[1] as string,
      size: match[2] as string,
      ...(match[3] ? { options: match[3] } : {}),
    });
  }
  return mounts.length === 0 ? undefined : mounts;
}

/** `HOST HEADER: VALUE` lines (the value may hold spaces and colons). */
function parseSecrets(text: string, errors: FieldErrors): EgressSecret[] | undefined {
  const secrets: EgressSecret[] = [];
  for (const line of lines(text)) {
    const match = /^(\S+)\s+([^:\s]+):\s*(.+)$/.exec(line);
    if (match === null) {
      errors.secrets = `a line is not HOST HEADER: VALUE (e.g. api.example.com Authorization: Bearer ...)`;
      return undefined;
    }
    secrets.push({ host: match[1] as string, header: match[2] as string, value: match[3] as string });
  }
  return secrets.length === 0 ? undefined : secrets;
}

function parsePortList(text: string, errors: FieldErrors): number[] | undefined {
  const words = text.split(/[\s,]+/).filter((word) => word !== '');
  const ports = words.map(Number);
  if (ports.some((port) => !Number.isInteger(port) || port < 1 || port > 65535)) {
    errors.publicPorts = 'enter port numbers (1-65535) separated by commas or spaces';
    return undefined;
  }
  return ports.length === 0 ? undefined : ports;
}

export function toCreateOptions(form: FormState): { options: CreateSandboxOptions; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const options: CreateSandboxOptions = {};
  const set = <K extends keyof CreateSandboxOptions>(key: K, value: CreateSandboxOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('image', form.image.trim() || undefined);
  set('timeoutSeconds', number(form.timeoutSeconds, 'timeoutSeconds', errors, true));
  set('cpus', number(form.cpus, 'cpus', errors, false));
  const memory = number(form.memoryMiB, 'memoryMiB', errors, false);
  set('memoryBytes', memory === undefined ? undefined : Math.round(memory * 1024 * 1024));
  set('pidLimit', number(form.pidLimit, 'pidLimit', errors, true));
  const disk = number(form.diskLimitMiB, 'diskLimitMiB', errors, false);
  set('diskLimitBytes', disk === undefined ? undefined : Math.round(disk * 1024 * 1024));
  set('networkMode', form.networkMode || undefined);
  set('runtime', form.runtime || undefined);
  const allow = lines(form.egressAllow);
  const deny = lines(form.egressDeny);
  if (allow.length > 0 || deny.length > 0) options.egress = { allow, ...(deny.length > 0 ? { deny } : {}) };
  set('secrets', parseSecrets(form.secrets, errors));
  set('publicPorts', parsePortList(form.publicPorts, errors));
  if (form.writableRootfs) options.writableRootfs = true;
  set('workdir', form.workdir.trim() || undefined);
  const cmd = lines(form.cmd);
  if (cmd.length > 0) options.cmd = cmd;
  set('env', pairs(form.env, 'env', errors));
  set('labels', pairs(form.labels, 'labels', errors));
  set('ports', parsePorts(form.ports, errors));
  const volumes = parseVolumes(form.volumes, errors);
  const tmpfs = parseTmpfs(form.tmpfs, errors);
  const bucket = form.s3Bucket.trim();
  if (volumes !== undefined || tmpfs !== undefined || bucket !== '') {
    options.storage = {};
    if (volumes !== undefined) options.storage.volumes = volumes;
    if (tmpfs !== undefined) options.storage.tmpfs = tmpfs;
    if (bucket !== '') {
      const s3: NonNullable<NonNullable<CreateSandboxOptions['storage']>['s3']> = {
        bucket,
        mode: form.s3Mode,
      };
      const optional = {
        prefix: form.s3Prefix,
        endpoint: form.s3Endpoint,
        region: form.s3Region,
        accessKey: form.s3AccessKey,
        secretKey: form.s3SecretKey,
        syncPath: form.s3SyncPath,
        mountPath: form.s3MountPath,
      };
      for (const [key, value] of Object.entries(optional))
        if (value.trim() !== '') (s3 as unknown as Record<string, string>)[key] = value.trim();
      options.storage.s3 = s3;
    }
  }
  return { options, errors };
}

/** Wire field (as the API names it at the start of a message or in `field`) → form field, longest match first. */
const WIRE_FIELDS: [string, FieldName][] = [
  ['storage.s3.bucket', 's3Bucket'],
  ['storage.s3.mode', 's3Mode'],
  ['storage.s3.mount_path', 's3MountPath'],
  ['storage.s3.sync_path', 's3SyncPath'],
  ['storage.s3.endpoint', 's3Endpoint'],
  ['storage.s3', 's3Bucket'],
  ['storage.volumes', 'volumes'],
  ['storage.tmpfs', 'tmpfs'],
  ['network_mode', 'networkMode'],
  ['runtime', 'runtime'],
  ['egress.deny', 'egressDeny'],
  ['secrets', 'secrets'],
  ['public_ports', 'publicPorts'],
  ['egress', 'egressAllow'],
  ['writable_rootfs', 'writableRootfs'],
  ['pid_limit', 'pidLimit'],
  ['disk_limit', 'diskLimitMiB'],
  ['timeout', 'timeoutSeconds'],
  ['memory', 'memoryMiB'],
  ['cpu', 'cpus'],
  ['image', 'image'],
  ['workdir', 'workdir'],
  ['cmd', 'cmd'],
  ['env', 'env'],
  ['labels', 'labels'],
  ['ports', 'ports'],
];

/** The form field an API error is about, from its `field` detail or the field name its message starts with. */
export function fieldOfError(field: string | undefined, message: string): FieldName | undefined {
  const subject = field ?? /^([a-z_]+(?:\.[a-z0-9_]+)*)[:\s[]/.exec(message)?.[1];
  if (subject === undefined) return undefined;
  for (const [wire, name] of WIRE_FIELDS)
    if (subject === wire || subject.startsWith(`${wire}.`) || subject.startsWith(`${wire}[`)) return name;
  return undefined;
}
