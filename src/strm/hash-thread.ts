/**
 * The sha-256 of each received stream, computed in a thread of its own.
 * Hashing is the largest cost of receiving a stream (about 125 ms for 200
 * MiB on a small VM), and the thread that reads the stream serves every
 * other connection of the process too (and, in tests and benchmarks, the
 * embedded simulator). Measured on a 2-core VM, a 200 MiB stream end to
 * end ran at 250-410 MiB/s hashed here, and 370-510 MiB/s not hashed.
 *
 * Each piece is copied at once into 1 MiB batches (the caller and the
 * consumer of the stream may reuse the piece right after), and a full
 * batch is handed to the thread (transferred, not copied), which hashes it
 * and hands the memory back for the next one. A stream with
 * {@link BATCHES_AWAY} batches at the thread waits for one to come back
 * before it reads on: memory stays bounded and the hashing keeps up.
 *
 * One thread serves the whole process: started with the first stream, then
 * kept. It keeps the process alive only while a stream waits for it (a
 * digest must not be lost to the process exiting). If it cannot
 * start or fails, the streams it was hashing fail (their data was read,
 * the connection stays in step), and later streams are hashed in the
 * calling thread.
 */
import { createHash } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { DdmwError } from '../err.ts';
import { startWorker } from '../worker-thread.ts';

/** Size of a batch handed to the thread. */
const BATCH_BYTES = 1024 * 1024;
/** Batches a stream may have at the thread before it waits for one to come back. */
const BATCHES_AWAY = 3;
/** Batches kept for reuse when they come back (fresh memory costs page faults on every use). */
const SPARE_BATCHES = 8;

/** The sha-256 of one stream's bytes. */
export interface StreamHasher {
  /**
   * Adds `piece`, copied before this returns. Returns a promise when the
   * stream should wait (for the hashing thread) before adding more.
   */
  update(piece: Uint8Array): Promise<void> | undefined;
  /** The sha-256 (lowercase hex) of everything added. Rejects with `IO` when it cannot be computed. */
  digest(): Promise<string>;
  /** Forgets the stream (it ended without a digest being asked for). */
  drop(): void;
}

/** What the hashing thread is sent. */
export type ToHashThread =
  | { op: 'data'; id: number; batch: ArrayBuffer; length: number }
  | { op: 'end'; id: number }
  | { op: 'drop'; id: number };

/** What the hashing thread answers. */
type FromHashThread =
  | { op: 'free'; id: number; batch: ArrayBuffer }
  | { op: 'digest'; id: number; hex: string };

/** Hashing in the calling thread: when the hashing thread is not available. */
class LocalHasher implements StreamHasher {
  readonly #hash = createHash('sha256');

  update(piece: Uint8Array): undefined {
    this.#hash.update(piece);
  }

  digest(): Promise<string> {
    return Promise.resolve(this.#hash.digest('hex'));
  }

  drop(): void {}
}

/** One stream hashed by the {@link HashThread}. */
class ThreadHasher implements StreamHasher {
  readonly #thread: HashThread;
  readonly id: number;
  /** The batch being filled. */
  #batch: Uint8Array<ArrayBuffer> | undefined;
  #filled = 0;
  /** Batches at the thread. */
  #away = 0;
  /** Settles when a batch comes back, while the stream waits for one; and its resolver. */
  #room: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #answer: { resolve: (hex: string) => void; reject: (err: DdmwError) => void } | undefined;
  #failure: DdmwError | undefined;

  constructor(thread: HashThread, id: number) {
    this.#thread = thread;
    this.id = id;
  }

  update(piece: Uint8Array): Promise<void> | undefined {
    if (this.#failure) return undefined; // the digest will say so
    for (let at = 0; at < piece.length; ) {
      this.#batch ??= this.#thread.takeBatch();
      const n = Math.min(piece.length - at, this.#batch.length - this.#filled);
      this.#batch.set(piece.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
      if (this.#filled === this.#batch.length) this.#send();
    }
    if (this.#away < BATCHES_AWAY) return undefined;
    this.#room ??= new Promise((resolve) => {
      this.#wake = resolve;
    });
    return this.#room;
  }

  digest(): Promise<string> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#filled > 0) this.#send();
    return new Promise((resolve, reject) => {
      this.#answer = { resolve, reject };
      this.#thread.post({ op: 'end', id: this.id });
    });
  }

  drop(): void {
    this.#thread.forget(this);
    this.#thread.post({ op: 'drop', id: this.id });
  }

  #send(): void {
    const batch = this.#batch as Uint8Array<ArrayBuffer>;
    this.#batch = undefined;
    this.#away++;
    this.#thread.post({ op: 'data', id: this.id, batch: batch.buffer, length: this.#filled }, [
      batch.buffer,
    ]);
    this.#filled = 0;
  }

  /** A batch came back from the thread. */
  returned(): void {
    this.#away--;
    if (this.#away < BATCHES_AWAY) this.#goOn();
  }

  /** Lets a waiting stream go on. */
  #goOn(): void {
    const wake = this.#wake;
    this.#room = undefined;
    this.#wake = undefined;
    wake?.();
  }

  answered(hex: string): void {
    this.#answer?.resolve(hex);
  }

  /** The thread failed: the digest rejects, and a waiting stream reads on (to stay in step). */
  failed(err: DdmwError): void {
    this.#failure = err;
    this.#answer?.reject(err);
    this.#goOn();
  }
}

/** The process's hashing thread and the streams it hashes. */
class HashThread {
  readonly #worker: Worker;
  readonly #streams = new Map<number, ThreadHasher>();
  readonly #spares: ArrayBuffer[] = [];
  #nextId = 1;
  /** Why the thread stopped; `undefined` while it works. */
  failure: DdmwError | undefined;

  constructor() {
    this.#worker = startWorker(import.meta.url, 'hash-worker', {});
    this.#worker.unref();
    this.#worker.on('message', (m: FromHashThread) => this.#onMessage(m));
    this.#worker.on('error', (err) => this.#fail(err.message));
    this.#worker.on('exit', (code) => this.#fail(`it exited with code ${code}`));
  }

  hasher(): ThreadHasher {
    const hasher = new ThreadHasher(this, this.#nextId++);
    if (this.#streams.size === 0) this.#worker.ref();
    this.#streams.set(hasher.id, hasher);
    return hasher;
  }

  takeBatch(): Uint8Array<ArrayBuffer> {
    const spare = this.#spares.pop();
    return spare ? new Uint8Array(spare) : new Uint8Array(BATCH_BYTES);
  }

  post(message: ToHashThread, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(message, transfer);
  }

  forget(hasher: ThreadHasher): void {
    this.#streams.delete(hasher.id);
    if (this.#streams.size === 0) this.#worker.unref();
  }

  /** Stops the thread (its `exit` then fails the streams under way). */
  terminate(): Promise<number> {
    return this.#worker.terminate();
  }

  #onMessage(m: FromHashThread): void {
    if (m.op === 'free') {
      if (this.#spares.length < SPARE_BATCHES) this.#spares.push(m.batch);
      this.#streams.get(m.id)?.returned();
      return;
    }
    const hasher = this.#streams.get(m.id);
    if (!hasher) return;
    this.forget(hasher);
    hasher.answered(m.hex);
  }

  #fail(why: string): void {
    if (this.failure) return;
    this.failure = new DdmwError(
      'IO',
      `The stream's sha-256 could not be computed: the hashing thread stopped (${why})`,
    );
    for (const hasher of this.#streams.values()) hasher.failed(this.failure);
    this.#streams.clear();
  }
}

let thread: HashThread | undefined;

/** A hasher for a new stream: in the hashing thread, or in this one when that thread is not available. */
export function streamHasher(): StreamHasher {
  if (!thread?.failure) {
    try {
      thread ??= new HashThread();
      return thread.hasher();
    } catch {
      // No thread (a runtime without worker threads, or at its limit): hash here.
    }
  }
  return new LocalHasher();
}

/**
 * Stops the hashing thread as a crash would: the streams it was hashing
 * fail, and later ones are hashed in the calling thread.
 * @internal For tests.
 */
export async function stopHashThread(): Promise<void> {
  await thread?.terminate();
}
