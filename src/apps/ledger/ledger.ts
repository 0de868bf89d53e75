/**
 * Delivery ledgers. Across a one-way link the sender never learns what
 * arrived, so each side can append one JSON line per transfer to a ledger
 * of its own, and `reconcile` (reconcile.ts) compares the two afterwards.
 *
 * A line is written with one `write` to a file opened for appending, so
 * lines of several writers never interleave and a crash leaves at most a
 * torn last line (which reading reports and skips).
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { DdmwError } from '../../index.ts';
import { appendAll, openForAppending } from '../json-lines.ts';

/** One transfer, as a side of the link saw it. */
export interface LedgerEntry {
  /** Transfer id (assigned by the sender node; the receiver sees the same one). */
  xferId: string;
  /** Channel, as the side that wrote the line named it. */
  ch: string;
  /** Payload bytes. */
  size: number;
  /** SHA-256 of the payload, 64 lowercase hex digits. */
  sha256: string;
  /** When the transfer was sent or received (ISO 8601). */
  time: string;
  /** What was transferred, for people: a file's relative path, say. */
  name?: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Why `entry` is not a valid ledger entry, or `undefined` when it is. */
export function ledgerEntryProblem(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'not an object';
  const e = entry as Record<string, unknown>;
  if (typeof e.xferId !== 'string' || e.xferId === '') return 'xferId is not a non-empty string';
  if (typeof e.ch !== 'string') return 'ch is not a string';
  if (!Number.isSafeInteger(e.size) || (e.size as number) < 0)
    return 'size is not a non-negative integer';
  if (typeof e.sha256 !== 'string' || !SHA256_HEX.test(e.sha256))
    return 'sha256 is not 64 lowercase hex digits';
  if (typeof e.time !== 'string' || Number.isNaN(Date.parse(e.time)))
    return 'time is not an ISO 8601 date';
  if (e.name !== undefined && typeof e.name !== 'string') return 'name is not a string';
  return undefined;
}

/** An append-only ledger file; see the file's header. */
export class Ledger {
  /** The ledger file. */
  readonly path: string;
  readonly #fh: FileHandle;
  /** Appends run one after the other, in call order. */
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(path: string, fh: FileHandle) {
    this.path = path;
    this.#fh = fh;
  }

  /**
   * Opens (or creates) the ledger at `path` for appending; a torn last line
   * (a writer stopped mid-line) is cut off first.
   */
  static async open(path: string): Promise<Ledger> {
    return new Ledger(path, await openForAppending(path));
  }

  /** Appends one entry (`time` defaults to now); `BAD_PARAMS` for an invalid entry. */
  append(entry: Omit<LedgerEntry, 'time'> & { time?: string }): Promise<void> {
    const full: LedgerEntry = { ...entry, time: entry.time ?? new Date().toISOString() };
    const problem = ledgerEntryProblem(full);
    if (problem) return Promise.reject(new DdmwError('BAD_PARAMS', `Ledger entry: ${problem}`));
    if (this.#closed)
      return Promise.reject(new DdmwError('BAD_STATE', `The ledger ${this.path} is closed`));
    const line = Buffer.from(`${JSON.stringify(full)}\n`);
    const write = this.#tail.then(() => this.#write(line));
    this.#tail = write.catch(() => {});
    return write;
  }

  async #write(line: Buffer): Promise<void> {
    try {
      await appendAll(this.#fh, line);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new DdmwError('IO', `Cannot append to the ledger ${this.path}: ${reason}`, {
        cause: err,
      });
    }
  }

  /** Waits for the appends under way, then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    await this.#fh.close();
  }
}

/**
 * A pass-through that hashes what flows through it: `digest()` gives the
 * SHA-256 (hex) and `bytes` the count, once the stream has ended.
 */
export class Sha256Tap extends Transform {
  readonly #hash = createHash('sha256');
  #digest: string | undefined;
  /** Bytes that flowed through so far. */
  bytes = 0;

  /** @internal */
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  /** @internal */
  override _flush(done: TransformCallback): void {
    this.#digest = this.#hash.digest('hex');
    done();
  }

  /** The hex digest; `BAD_STATE` before the stream has ended. */
  digest(): string {
    if (this.#digest === undefined)
      throw new DdmwError('BAD_STATE', 'The hash is known only once the stream has ended');
    return this.#digest;
  }
}

/** SHA-256 (hex) of some bytes. */
export const sha256Of = (bytes: Uint8Array | string) =>
  createHash('sha256').update(bytes).digest('hex');
