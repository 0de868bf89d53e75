/**
 * Cuts the byte stream of the stream transport back into frames: each
 * frame is preceded by its length (u32, big-endian). A length outside the
 * frame sizes the link uses means the peer is not this link's sending end
 * (or is broken): the connection is then given up, without reading on.
 */
import { FIXED_SIZE, TAG_SIZE } from './format.ts';
import { LENGTH_PREFIX } from './transports.ts';

/** Splits one connection's bytes into frames. */
export class FrameSplitter {
  readonly #maxFrame: number;
  readonly #onFrame: (frame: Buffer) => void;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxFrame: number, onFrame: (frame: Buffer) => void) {
    this.#maxFrame = maxFrame;
    this.#onFrame = onFrame;
  }

  /**
   * Takes the next bytes of the stream (kept as they are: they must not be
   * reused). Returns why the stream cannot be framed, or undefined.
   */
  push(chunk: Buffer): string | undefined {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    while (this.#pendingBytes >= LENGTH_PREFIX) {
      const head = this.#peek(LENGTH_PREFIX);
      const length = head.readUInt32BE(0);
      if (length < FIXED_SIZE + TAG_SIZE || length > this.#maxFrame) {
        return `a frame length of ${length} bytes`;
      }
      if (this.#pendingBytes < LENGTH_PREFIX + length) return undefined;
      this.#skip(LENGTH_PREFIX);
      this.#onFrame(this.#take(length));
    }
    return undefined;
  }

  /** The first `n` pending bytes, without consuming them. */
  #peek(n: number): Buffer {
    const first = this.#pending[0] as Buffer;
    return first.length >= n ? first : Buffer.concat(this.#pending, n);
  }

  #skip(n: number): void {
    this.#take(n);
  }

  /** Removes and returns the first `n` pending bytes: a view when they sit in one chunk. */
  #take(n: number): Buffer {
    this.#pendingBytes -= n;
    const first = this.#pending[0] as Buffer;
    if (first.length > n) {
      this.#pending[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.#pending.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = this.#pending[0] as Buffer;
      const k = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, k);
      at += k;
      if (k === chunk.length) this.#pending.shift();
      else this.#pending[0] = chunk.subarray(k);
    }
    return out;
  }
}
