/**
 * The link's fault models, applied by the sending end to every data frame
 * before it leaves (so they act the same on both transports). Every random
 * decision is a pure function of the seed, the transfer number, the frame's
 * sequence number, its copy and what is decided: the same seed and traffic
 * give the same faults however the frames of concurrent transfers
 * interleave and however busy the machine is. Down windows are the
 * exception: they are measured in time.
 */
import type { LinkFault, LinkSettings } from './settings.ts';

/** What happens to one copy of a frame. */
export type FrameFate = 'send' | 'drop' | 'corrupt' | 'duplicate';

/** What is being decided: each gets its own independent draws. */
const Draw = {
  loss: 1,
  burstLoss: 2,
  burstMove: 3,
  burstStart: 4,
  start: 5,
  end: 6,
  corrupt: 7,
  duplicate: 8,
  reorder: 9,
} as const;

/** A 32-bit mix (the finaliser of MurmurHash3): good avalanche, no state. */
function mix(h: number): number {
  let x = h >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A uniform number in [0, 1) for these inputs. */
function uniform(seed: number, transfer: number, seq: number, copy: number, what: number): number {
  let h = mix(seed ^ 0x9e3779b9);
  h = mix(h ^ (transfer >>> 0));
  h = mix(h ^ Math.floor(transfer / 2 ** 32));
  h = mix(h ^ seq);
  h = mix(h ^ ((copy << 8) | what));
  return h / 2 ** 32;
}

/** Per-transfer state of the burst model: good or bad. */
export interface BurstState {
  bad: boolean;
}

/** The fault models of one link, from its settings. */
export class FaultPlan {
  readonly #faults: LinkSettings['faults'];
  readonly #hook: LinkFault | undefined;
  readonly #startedAt = performance.now();

  constructor(settings: Pick<LinkSettings, 'faults' | 'fault'>) {
    this.#faults = settings.faults;
    this.#hook = settings.fault;
  }

  #draw(transfer: number, seq: number, copy: number, what: number): number {
    return uniform(this.#faults.seed, transfer, seq, copy, what);
  }

  /** The burst model's state at the start of a transfer (its long-run share of bad states). */
  burstStart(transfer: number): BurstState {
    const burst = this.#faults.burst;
    if (!burst || burst.enter + burst.leave === 0) return { bad: false };
    const badShare = burst.enter / (burst.enter + burst.leave);
    return { bad: this.#draw(transfer, 0, 0, Draw.burstStart) < badShare };
  }

  /**
   * The fate of copy `copy` of data frame `seq` of `count` in `transfer`.
   * Moves the burst state on; call once per copy, in sending order.
   */
  fate(transfer: number, seq: number, count: number, copy: number, burst: BurstState): FrameFate {
    const f = this.#faults;
    const p = (what: number) => this.#draw(transfer, seq, copy, what);
    let lost = p(Draw.loss) < f.loss;
    if (seq === 0 && this.#draw(transfer, 0, 0, Draw.start) < f.startLoss) lost = true;
    if (seq === count - 1 && this.#draw(transfer, 0, 0, Draw.end) < f.endLoss) lost = true;
    if (f.burst) {
      if (burst.bad && p(Draw.burstLoss) < f.burst.loss) lost = true;
      const move = p(Draw.burstMove);
      burst.bad = burst.bad ? !(move < f.burst.leave) : move < f.burst.enter;
    }
    const verdict = this.#hook?.({ transfer, seq, count });
    if (lost || verdict === 'drop') return 'drop';
    if (verdict === 'corrupt' || p(Draw.corrupt) < f.corrupt) return 'corrupt';
    return p(Draw.duplicate) < f.duplicate ? 'duplicate' : 'send';
  }

  /** Whether data frame `seq` of `transfer` is held back and sent after the next data frame. */
  reorders(transfer: number, seq: number): boolean {
    return (
      this.#faults.reorder > 0 && this.#draw(transfer, seq, 0, Draw.reorder) < this.#faults.reorder
    );
  }

  /** Whether the link is down now (a `down` window is open). */
  down(): boolean {
    if (this.#faults.down.length === 0) return false;
    const now = performance.now() - this.#startedAt;
    return this.#faults.down.some((w) => now >= w.atMs && now < w.atMs + w.forMs);
  }
}

/** Flips the bits of the last byte before the tag, so the frame fails its check. */
export function corrupt(frame: Buffer, tagSize: number): Buffer {
  const copy = Buffer.from(frame);
  const at = Math.max(0, copy.length - tagSize - 1);
  copy[at] = (copy[at] as number) ^ 0xff;
  return copy;
}
