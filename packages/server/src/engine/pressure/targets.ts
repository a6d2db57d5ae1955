/** The engine's sandboxes as the pressure monitor acts on them. */
import type { Runtime } from '../../runtime/runtime.js';
import type { Engine } from '../engine.js';
import { lastUse } from '../lifetimes.js';
import type { PressureTargets } from './monitor.js';

export function pressureTargets(engine: Engine, runtime: Runtime): PressureTargets {
  return {
    running: () =>
      engine
        .list()
        .filter((record) => record.status === 'running')
        .map((record) => ({ id: record.id, lastUse: lastUse(record) })),
    setSoftLimit: (id, bytes) => runtime.updateMemorySoftLimit(id, bytes),
    pause: async (id) => {
      await engine.pause(id, 'memory pressure');
    },
    memory: (id) => runtime.memory(id),
  };
}
