/**
 * `KVLines`: an ordered list of key/value lines that keeps duplicates
 * (wire-protocol.md §2.2). Keys are not validated by blather; the encoder only
 * refuses what could not be decoded back to the same pair.
 */
import { inspect } from 'node:util';

/** An ordered key/value list; duplicate keys allowed. */
export class KVLines implements Iterable<[string, string]> {
  readonly #lines: [string, string][] = [];

  constructor(init?: Iterable<readonly [string, string]>) {
    if (init) for (const [k, v] of init) this.#lines.push([k, v]);
  }

  /** Appends a line. */
  append(key: string, value: string): this {
    this.#lines.push([key, value]);
    return this;
  }

  /** Number of lines. */
  get length(): number {
    return this.#lines.length;
  }

  /** The values of every line with this key, in order. */
  getAll(key: string): string[] {
    return this.#lines.filter(([k]) => k === key).map(([, v]) => v);
  }

  /** The lines, in order. */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.#lines[Symbol.iterator]();
  }

  /** A copy of the lines as an array of pairs. */
  toArray(): [string, string][] {
    return this.#lines.map(([k, v]) => [k, v]);
  }

  /** Encoded size in bytes. */
  encodedSize(): number {
    let size = 1;
    for (const [k, v] of this.#lines) size += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
    return size;
  }

  /** Display form for `util.inspect` and `console.log`: `KVLines [k=v, ...]`. */
  [inspect.custom](): string {
    return `KVLines [${this.#lines.map(([k, v]) => `${k}=${v}`).join(', ')}]`;
  }
}
