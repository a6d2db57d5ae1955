/**
 * Reads the output of a Docker image build (the classic builder's "Step 3/6 : RUN ..." lines and apt's own) into a
 * short state a person can follow: which step of how many, and within an apt step which package of how many.
 */
import type { ProgressFields } from '../progress/progress.js';

export interface BuildState {
  step: number;
  steps: number;
  /** The step's instruction, whitespace collapsed and cut short. */
  instruction: string;
  /** apt within the step: what it is doing to which package, and how far along it is. */
  apt?: { action: string; package: string; done: number; total: number };
}

const STEP = /^Step (\d+)\/(\d+) : (.*)$/;
const NEWLY_INSTALLED = /^\d+ upgraded, (\d+) newly installed/;
// Get:15 http://deb.debian.org/debian bookworm/main amd64 libpython3.11 amd64 3.11.2-6 [1,234 kB]
const GET_PACKAGE = /^Get:\d+ \S+ \S+ \S+ (\S+) \S+ \S+ \[/;
const UNPACKING = /^Unpacking ([^\s:]+)/;
const SETTING_UP = /^Setting up ([^\s:]+)/;
const MAX_INSTRUCTION = 48;

function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

export class BuildProgressParser {
  private state: BuildState = { step: 0, steps: 0, instruction: '' };
  private partial = '';
  private downloaded = 0;
  private unpacked = 0;
  private configured = 0;
  private total = 0;

  /** Feeds a chunk of build output (any split); returns whether the state changed. */
  push(chunk: string): boolean {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    let changed = false;
    for (const line of lines) changed = this.line(line.trim()) || changed;
    return changed;
  }

  current(): BuildState {
    return this.state;
  }

  private line(line: string): boolean {
    const step = STEP.exec(line);
    if (step !== null) {
      this.state = {
        step: Number(step[1]),
        steps: Number(step[2]),
        instruction: shorten(step[3] ?? '', MAX_INSTRUCTION),
      };
      this.downloaded = this.unpacked = this.configured = this.total = 0;
      return true;
    }
    const installed = NEWLY_INSTALLED.exec(line);
    if (installed !== null) {
      this.total = Number(installed[1]);
      return false;
    }
    if (this.total === 0) return false;
    const get = GET_PACKAGE.exec(line);
    if (get !== null) return this.apt('downloading', get[1] ?? '', ++this.downloaded);
    const unpacking = UNPACKING.exec(line);
    if (unpacking !== null) return this.apt('unpacking', unpacking[1] ?? '', ++this.unpacked);
    const setting = SETTING_UP.exec(line);
    if (setting !== null) return this.apt('setting up', setting[1] ?? '', ++this.configured);
    return false;
  }

  private apt(action: string, pkg: string, done: number): boolean {
    this.state = {
      ...this.state,
      apt: { action, package: pkg, done: Math.min(done, this.total), total: this.total },
    };
    return true;
  }
}

/** `step 3/6 RUN apt-get install…: setting up python3.11 (120/245)`. */
export function describeBuild(state: BuildState): string {
  if (state.steps === 0) return 'starting';
  const step = `step ${state.step}/${state.steps} ${state.instruction}`;
  const apt = state.apt;
  return apt === undefined ? step : `${step}: ${apt.action} ${apt.package} (${apt.done}/${apt.total})`;
}

export function buildFields(state: BuildState): ProgressFields {
  const fields: ProgressFields = { step: state.step, steps: state.steps };
  if (state.apt !== undefined) {
    fields.package = state.apt.package;
    fields.packages_done = state.apt.done;
    fields.packages_total = state.apt.total;
  }
  return fields;
}
