/**
 * A `Readable` fed piece by piece by an async producer, with backpressure:
 * `offer()` resolves once the consumer wants more. Destroying the stream
 * early does not stop the producer: it keeps offering (and the pieces are
 * dropped), so that a byte stream underneath can be read to the end and
 * stay in step.
 */
import { Readable } from 'node:stream';

/** The stream and the producer's side of it. */
export interface FedReadable {
  /** What the consumer reads. */
  readonly stream: Readable;
  /** True once the consumer destroyed the stream. */
  readonly destroyed: boolean;
  /** Hands a piece to the consumer; the promise (if any) resolves when it wants more. */
  offer(piece: Buffer): void | Promise<void>;
}

/** Creates a fed `Readable`; `onDestroy` runs when the consumer destroys it first. */
export function fedReadable(
  options: { highWaterMark?: number; onDestroy?: () => void } = {},
): FedReadable {
  let destroyed = false;
  let wantMore: (() => void) | undefined;
  const release = () => {
    const w = wantMore;
    wantMore = undefined;
    w?.();
  };
  const stream = new Readable({
    highWaterMark: options.highWaterMark,
    read: release,
    destroy: (err, callback) => {
      if (!destroyed) options.onDestroy?.();
      destroyed = true;
      release();
      callback(err);
    },
  });
  return {
    stream,
    get destroyed() {
      return destroyed;
    },
    offer(piece) {
      if (destroyed || stream.push(piece)) return;
      return new Promise<void>((resolve) => {
        wantMore = resolve;
      });
    },
  };
}
