/**
 * A hostile agent for tests: it connects to a sandbox's channel like the real burrow-agent, reads each request's
 * first frame, and answers with whatever `behave` writes (huge lengths, endless output, stalls, lies, garbage).
 */
import { connect, type Socket } from 'node:net';
import { FrameDecoder, type Frame } from '../frames.js';

export type Behaviour = (request: Frame, socket: Socket) => void | Promise<void>;

export interface HostileAgent {
  /** Connections made so far. */
  readonly connections: number;
  stop(): void;
}

/** Keeps `spares` idle connections to `socketPath` open, as the real agent does, and runs `behave` per request. */
export function startHostileAgent(socketPath: string, behave: Behaviour, spares = 2): HostileAgent {
  let stopped = false;
  let connections = 0;
  const open = new Set<Socket>();
  const spare = () => {
    if (stopped) return;
    const socket = connect(socketPath);
    connections += 1;
    open.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => open.delete(socket));
    const decoder = new FrameDecoder();
    let handled = false;
    socket.on('data', (chunk: Buffer) => {
      if (handled) return;
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      const first = frames[0];
      if (first === undefined) return;
      handled = true;
      spare();
      void Promise.resolve(behave(first, socket)).catch(() => socket.destroy());
    });
  };
  for (let i = 0; i < spares; i += 1) spare();
  return {
    get connections() {
      return connections;
    },
    stop() {
      stopped = true;
      for (const socket of open) socket.destroy();
    },
  };
}

/** A raw frame: type byte, u32 length (which may lie), then the payload bytes given. */
export function rawFrame(type: string, payload: Buffer, declaredLength = payload.length): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 1, 'latin1');
  header.writeUInt32BE(declaredLength >>> 0, 1);
  return Buffer.concat([header, payload]);
}
