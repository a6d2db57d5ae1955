/**
 * A connection the agent made inside a sandbox (a `connect` request, PROTOCOL.md "Connect"), as a Duplex: writes
 * become `d` frames and end() an `e` frame; the agent's `d` frames are read as they are consumed (backpressure:
 * nothing is read from the agent faster than the consumer reads), its `e` frame ends the readable side.
 */
import { Duplex } from 'node:stream';
import type { AgentChannel, FrameReader } from './agent-client.js';
import { encodeFrame, MAX_FRAME_PAYLOAD } from './frames.js';
import { protocolError } from './frames.js';

export function tunnelDuplex(channel: AgentChannel, reader: FrameReader): Duplex {
  let reading = false;
  const duplex = new Duplex({
    allowHalfOpen: true,
    read() {
      if (reading) return;
      reading = true;
      void (async () => {
        try {
          for (;;) {
            const frame = await reader.next();
            if (frame.type === 'd') {
              if (!duplex.push(frame.payload)) break;
            } else if (frame.type === 'e') {
              duplex.push(null);
              break;
            } else {
              throw protocolError(
                `an unexpected frame in a connection (type byte ${frame.type.charCodeAt(0)})`,
              );
            }
          }
        } catch (error) {
          duplex.destroy(error as Error);
        } finally {
          reading = false;
        }
      })();
    },
    write(chunk: Buffer, _encoding, callback) {
      void (async () => {
        for (let offset = 0; offset < chunk.length; offset += MAX_FRAME_PAYLOAD) {
          await channel.send(encodeFrame('d', chunk.subarray(offset, offset + MAX_FRAME_PAYLOAD)));
        }
      })().then(() => callback(), callback);
    },
    final(callback) {
      channel.send(encodeFrame('e')).then(() => callback(), callback);
    },
    destroy(error, callback) {
      channel.destroy();
      callback(error);
    },
  });
  return duplex;
}
