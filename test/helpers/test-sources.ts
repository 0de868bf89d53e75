/**
 * Byte sources for reader tests: one fed by hand (with the callback form, so
 * a test sees what happens synchronously inside a chunk's delivery), and one
 * that lends its chunks from a single scratch buffer and spoils it as soon
 * as it may reuse it (as a socket reading into one buffer would).
 */
import type { ByteSource, ChunkCallback } from '../../src/blather/source.ts';

/** A source the test hands chunks to; counts how often it is asked. */
export class HandSource implements ByteSource {
  asked = 0;
  #waiter: ChunkCallback | undefined;
  readonly #queue: (Buffer | null)[] = [];

  nextChunk(onChunk: ChunkCallback): void {
    this.asked++;
    const ready = this.#queue.shift();
    if (ready !== undefined) onChunk(ready);
    else this.#waiter = onChunk;
  }

  next(): Promise<Buffer | null> {
    return new Promise((resolve, reject) =>
      this.nextChunk((chunk, err) => (err ? reject(err) : resolve(chunk))),
    );
  }

  /** True while a reader waits for a chunk. */
  get waiting(): boolean {
    return this.#waiter !== undefined;
  }

  /** Hands `chunk` (or the end) to the waiting reader at once, else queues it. */
  deliver(chunk: Buffer | null): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) waiter(chunk);
    else this.#queue.push(chunk);
  }
}

/** Byte written over lent memory once the source may reuse it. */
export const SPOILED = 0xee;

/** A source lending views of one scratch buffer, spoiled on release and on the next read. */
export class LendingSource implements ByteSource {
  releases = 0;
  readonly #parts: Buffer[];
  readonly #scratch: Buffer;
  #at = 0;

  constructor(parts: Buffer[]) {
    this.#parts = parts;
    this.#scratch = Buffer.alloc(Math.max(1, ...parts.map((p) => p.length)));
  }

  async next(): Promise<Buffer | null> {
    this.#scratch.fill(SPOILED);
    const part = this.#parts[this.#at++];
    if (part === undefined) return null;
    return this.#scratch.subarray(0, part.copy(this.#scratch));
  }

  release(): void {
    this.releases++;
    this.#scratch.fill(SPOILED);
  }

  /** True when `b` is a view of the lent memory (not a copy). */
  lent(b: Buffer): boolean {
    return b.buffer === this.#scratch.buffer;
  }
}
