/**
 * A spy on `FileHandle.writev`: records every call and can make a write
 * short, take no bytes, or fail, so tests see how a writer batches, where it
 * writes and how it copes with a file system that does not take all it is
 * given. Real files only: never a device.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';

/** One call of `writev`: where, how many bytes were asked, and the buffers given. */
export interface WritevCall {
  position: number | null | undefined;
  bytes: number;
  buffers: Buffer[];
}

/**
 * What the n-th call (from 0) does: `undefined` writes everything, a number
 * writes at most that many bytes (0: none), an error rejects.
 */
export type WritevPlan = (index: number) => number | Error | undefined;

/** The calls seen so far and the most writes ever under way at once. */
export interface WritevSpy {
  readonly calls: WritevCall[];
  readonly maxInFlight: number;
  /** Puts the real `writev` back. */
  restore(): void;
}

type Writev = FileHandle['writev'];

/** The first buffers of `buffers` holding at most `limit` bytes (the last one cut short). */
function firstBytes(buffers: Buffer[], limit: number): Buffer[] {
  const out: Buffer[] = [];
  let left = limit;
  for (const b of buffers) {
    if (left <= 0) break;
    out.push(b.subarray(0, Math.min(b.length, left)));
    left -= b.length;
  }
  return out;
}

/** Replaces `writev` of every `FileHandle` (found through a scratch file in `dir`) with a spy. */
export async function spyWritev(
  dir: string,
  plan: WritevPlan = () => undefined,
): Promise<WritevSpy> {
  const scratch = await open(join(dir, '.writev-spy'), 'w');
  const proto = Object.getPrototypeOf(scratch) as { writev: Writev };
  await scratch.close();
  const real = proto.writev;
  const calls: WritevCall[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  proto.writev = async function (this: FileHandle, buffers, position) {
    const list = [...buffers] as Buffer[];
    const bytes = list.reduce((n, b) => n + b.length, 0);
    const step = plan(calls.length);
    calls.push({ position, bytes, buffers: list });
    if (step instanceof Error) throw step;
    if (step === 0) return { bytesWritten: 0, buffers };
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      const given = step === undefined ? list : firstBytes(list, step);
      const r = await real.call(this, given, position);
      return { bytesWritten: r.bytesWritten, buffers };
    } finally {
      inFlight--;
    }
  } as Writev;
  return {
    calls,
    get maxInFlight() {
      return maxInFlight;
    },
    restore() {
      proto.writev = real;
    },
  };
}
