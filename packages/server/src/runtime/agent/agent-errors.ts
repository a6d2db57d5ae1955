import { BurrowError, type ErrorCode } from '@burrow/protocol';

const ERRNO_CODES: Record<number, ErrorCode> = {
  1: 'PERMISSION_DENIED', // EPERM
  2: 'FILE_NOT_FOUND', // ENOENT
  13: 'PERMISSION_DENIED', // EACCES
  17: 'ALREADY_EXISTS', // EEXIST
  19: 'BAD_REQUEST', // ENODEV: a device, FIFO or socket where a regular file is needed
  20: 'NOT_A_DIRECTORY', // ENOTDIR
  21: 'IS_A_DIRECTORY', // EISDIR
  22: 'BAD_REQUEST', // EINVAL
  28: 'NO_SPACE', // ENOSPC
  30: 'READ_ONLY', // EROFS
  36: 'INVALID_PATH', // ENAMETOOLONG
  40: 'BAD_REQUEST', // ELOOP: a tree too deep
  122: 'NO_SPACE', // EDQUOT
};

const HINTS: Partial<Record<ErrorCode, string>> = {
  FILE_NOT_FOUND: 'no such file or directory',
  NOT_A_DIRECTORY: 'a component of the path is not a directory',
  IS_A_DIRECTORY: 'the path is a directory; give the path of a file',
  READ_ONLY:
    'the path is on a read-only filesystem; write under /tmp, /home/sandbox or a volume, or create the sandbox with writable_rootfs',
  PERMISSION_DENIED: "permission denied for the sandbox's user",
  NO_SPACE: 'no space left on the filesystem holding the path',
  ALREADY_EXISTS: 'the path exists and is not a directory',
};

/** Longest agent message passed on to a client; the sandbox writes it, so it is cut and cleaned. */
const MAX_MESSAGE = 1024;

/** The agent's message as printable text of bounded length (it comes from inside the sandbox). */
export function cleanAgentText(message: string, max = MAX_MESSAGE): string {
  // eslint-disable-next-line no-control-regex
  const printable = message.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return printable.length > max ? `${printable.slice(0, max)}...` : printable;
}

/** Turns an agent failure (`f` frame: errno + message) into a BurrowError naming the path. */
export function agentFailure(errno: number, message: string, path?: string): BurrowError {
  const code = ERRNO_CODES[errno] ?? 'INTERNAL';
  const hint = HINTS[code];
  const where = path === undefined ? '' : `${cleanAgentText(path, 512)}: `;
  const text = hint === undefined ? `${where}${cleanAgentText(message)}` : `${where}${hint}`;
  return new BurrowError(code, text, { errno });
}
