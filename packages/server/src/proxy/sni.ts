/**
 * The server name a TLS client asks for (SNI), read from its ClientHello without decrypting anything, so the egress
 * proxy can hold a CONNECT tunnel's TLS to the policy too (a program that CONNECTs to an allowed name and then asks
 * a shared front for another must not get through). Bounded: at most one ClientHello (64 KiB), within a deadline.
 */
import type { Duplex } from 'node:stream';

/** Largest ClientHello read (TLS allows 2^24; real ones are a few KiB, post-quantum key shares included). */
const MAX_HELLO_BYTES = 64 * 1024;

export type HelloResult =
  /** A ClientHello; `serverName` when it carries SNI. */
  | { kind: 'tls'; serverName?: string }
  /** Not TLS (the tunnel carries something else). */
  | { kind: 'other' }
  /** A TLS record that is not a well-formed ClientHello within the bounds. */
  | { kind: 'malformed' };

/** Parses `data` as far as it goes; `undefined` while more bytes are needed. */
export function parseClientHello(data: Buffer): HelloResult | undefined {
  if (data.length === 0) return undefined;
  if (data[0] !== 0x16) return { kind: 'other' };
  // Join the handshake fragments of consecutive handshake records.
  const fragments: Buffer[] = [];
  let offset = 0;
  let total = 0;
  let needed: number | undefined;
  while (needed === undefined || total < needed) {
    if (offset + 5 > data.length) return data.length > MAX_HELLO_BYTES ? { kind: 'malformed' } : undefined;
    if (data[offset] !== 0x16) return { kind: 'malformed' };
    const length = data.readUInt16BE(offset + 3);
    if (length === 0 || length > 16_384 + 2048) return { kind: 'malformed' };
    if (offset + 5 + length > data.length)
      return data.length > MAX_HELLO_BYTES ? { kind: 'malformed' } : undefined;
    fragments.push(data.subarray(offset + 5, offset + 5 + length));
    total += length;
    offset += 5 + length;
    if (needed === undefined && total >= 4) {
      const head = Buffer.concat(fragments);
      if (head[0] !== 0x01) return { kind: 'malformed' };
      needed = 4 + head.readUIntBE(1, 3);
      if (needed > MAX_HELLO_BYTES) return { kind: 'malformed' };
    }
  }
  return readHello(Buffer.concat(fragments).subarray(4, needed));
}

function readHello(hello: Buffer): HelloResult {
  let at = 2 + 32; // client_version, random
  const skip = (lengthBytes: number): boolean => {
    if (at + lengthBytes > hello.length) return false;
    const length = hello.readUIntBE(at, lengthBytes);
    at += lengthBytes + length;
    return at <= hello.length;
  };
  if (!skip(1) || !skip(2) || !skip(1)) return { kind: 'malformed' }; // session id, cipher suites, compression
  if (at === hello.length) return { kind: 'tls' }; // no extensions
  if (at + 2 > hello.length) return { kind: 'malformed' };
  const end = at + 2 + hello.readUInt16BE(at);
  at += 2;
  if (end > hello.length) return { kind: 'malformed' };
  while (at + 4 <= end) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    const body = hello.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    if (at > end) return { kind: 'malformed' };
    if (type !== 0) continue;
    // server_name: list length, then entries of (type, length, name); host_name is type 0.
    let inner = 2;
    while (inner + 3 <= body.length) {
      const nameType = body[inner];
      const nameLength = body.readUInt16BE(inner + 1);
      const name = body.subarray(inner + 3, inner + 3 + nameLength);
      inner += 3 + nameLength;
      if (inner > body.length) return { kind: 'malformed' };
      if (nameType === 0) {
        const text = name.toString('latin1');
        if (!/^[\x21-\x7e]{1,253}$/.test(text)) return { kind: 'malformed' };
        return { kind: 'tls', serverName: text };
      }
    }
    return { kind: 'malformed' };
  }
  return { kind: 'tls' };
}

/**
 * Reads a connection until its first bytes say whether it is TLS and which name it asks for. Resolves with the bytes
 * read (to be sent on first) and the result; the connection is paused. A peer that sends nothing is given
 * `timeoutMs`, then treated as `other` with nothing read (protocols where the server speaks first).
 */
export function peekClientHello(
  connection: Duplex,
  timeoutMs: number,
): Promise<{ result: HelloResult; head: Buffer }> {
  return new Promise((resolve) => {
    let head = Buffer.alloc(0);
    const finish = (result: HelloResult) => {
      clearTimeout(timer);
      connection.off('data', onData);
      connection.off('end', onEnd);
      connection.pause();
      resolve({ result, head });
    };
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const result = parseClientHello(head);
      if (result !== undefined) finish(result);
      else if (head.length > MAX_HELLO_BYTES) finish({ kind: 'malformed' });
    };
    const onEnd = () => finish(head.length === 0 ? { kind: 'other' } : { kind: 'malformed' });
    const timer = setTimeout(
      () => finish(head.length === 0 ? { kind: 'other' } : { kind: 'malformed' }),
      timeoutMs,
    );
    connection.on('data', onData);
    connection.once('end', onEnd);
    connection.resume();
  });
}
