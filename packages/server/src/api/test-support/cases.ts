/**
 * Cases that only one runtime can express, marked where they are written so that none is dropped silently: the
 * reason is part of the code (`grep -rn "dockerOnly(\|fakeOnly(" packages` lists them all), and the case runs in
 * that runtime's tier only, with the reason in its title.
 */
import { it } from 'vitest';
import type { RuntimeKind } from './harness.js';

type Case = (name: string, body: () => Promise<void>, timeoutMs?: number) => void;

function only(target: RuntimeKind, kind: RuntimeKind, reason: string): Case {
  if (reason.trim() === '') throw new Error(`a ${target}-only case must say why`);
  return kind === target
    ? (name, body, timeoutMs) => it(`${name} [${target} only: ${reason}]`, body, timeoutMs)
    : () => undefined;
}

/** A case the fake cannot express (a real network, kernel, image, engine): it runs in the docker tier only. */
export function dockerOnly(kind: RuntimeKind, reason: string): Case {
  return only('docker', kind, reason);
}

/** A case only the fake can express (a simulated death, an injected failure): it runs in the unit tier only. */
export function fakeOnly(kind: RuntimeKind, reason: string): Case {
  return only('fake', kind, reason);
}
