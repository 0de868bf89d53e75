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
 * One thread serves the whole process: started with the first stream.
 * Streams that start while it loads are hashed in the calling thread (a
 * thread that cannot load, such as one left out of a bundle, so fails no
 * stream); later streams go to it once it said it is ready. It keeps the
 * process alive only while it owes an answer (a batch to hand back, a
 * digest): a digest is never lost to the process exiting, and a stream
 * the application abandoned holds nothing. If it stops, the streams it
 * was hashing fail (their data was read, the connection stays in step),
 * and later streams are hashed in the calling thread. Up to
 * {@link SPARE_BATCHES} batches are kept for the next streams.
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
  /**
   * The sha-256 (lowercase hex) of everything added; the stream is ended
   * (asked again, the same answer). Rejects with `IO` when it cannot be
   * computed.
   */
  digest(): Promise<string>;
  /** Forgets the stream (it ended without a digest being asked for). */
  drop(): void;
}

/** What the hashing thread is sent. */
export type ToHashThread =
  | { op: 'data'; id: number; batch: ArrayBuffer; length: number }
  | { op: 'end'; id: number }
  | { op: 'drop'; id: number };

/** What the hashing thread answers (`ready` once, when it has loaded). */
export type FromHashThread =
  | { op: 'ready' }
  | { op: 'free'; id: number; batch: ArrayBuffer }
  | { op: 'digest'; id: number; hex: string };

/** Hashing in the calling thread: when the hashing thread is not available. */
class LocalHasher implements StreamHasher {
  readonly #hash = createHash('sha256');
  #digest: Promise<string> | undefined;

  update(piece: Uint8Array): undefined {
    this.#hash.update(piece);
  }

  digest(): Promise<string> {
    this.#digest ??= Promise.resolve(this.#hash.digest('hex'));
    return this.#digest;
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
  #digest: Promise<string> | undefined;
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
    if (this.#digest) return this.#digest; // asked once: the stream is ended
    if (this.#filled > 0) this.#send();
    this.#digest = new Promise((resolve, reject) => {
      this.#answer = { resolve, reject };
      this.#thread.post({ op: 'end', id: this.id });
    });
    return this.#digest;
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
  /** Answers the thread owes (batches to hand back, digests): it holds the process while there are any. */
  #owed = 0;
  /** True once the thread has loaded and said so. */
  ready = false;
  /** Settles with {@link ready} once the thread is ready or has stopped. */
  readonly settled: Promise<boolean>;
  #settle: (ready: boolean) => void = () => {};
  /** Why the thread stopped; `undefined` while it works. */
  failure: DdmwError | undefined;

  constructor() {
    this.settled = new Promise((resolve) => {
      this.#settle = resolve;
    });
    this.#worker = startWorker(import.meta.url, 'hash-worker', {});
    this.#worker.on('message', (m: FromHashThread) => this.#onMessage(m));
    this.#worker.on('error', (err) => this.#fail(err.message));
    this.#worker.on('exit', (code) => this.#fail(`it exited with code ${code}`));
    this.#worker.unref(); // after the listeners: adding a 'message' listener refs the worker again
  }

  hasher(): ThreadHasher {
    const hasher = new ThreadHasher(this, this.#nextId++);
    this.#streams.set(hasher.id, hasher);
    return hasher;
  }

  takeBatch(): Uint8Array<ArrayBuffer> {
    const spare = this.#spares.pop();
    return spare ? new Uint8Array(spare) : new Uint8Array(BATCH_BYTES);
  }

  post(message: ToHashThread, transfer: ArrayBuffer[] = []): void {
    if (message.op !== 'drop') this.#owe(1);
    this.#worker.postMessage(message, transfer);
  }

  forget(hasher: ThreadHasher): void {
    this.#streams.delete(hasher.id);
  }

  /** {@link settled}, holding the process while it waits. */
  async whenSettled(): Promise<boolean> {
    this.#owe(1);
    try {
      return await this.settled;
    } finally {
      if (!this.failure) this.#owe(-1);
    }
  }

  /** Stops the thread (its `exit` then fails the streams under way). */
  terminate(): Promise<number> {
    return this.#worker.terminate();
  }

  /** Counts answers owed (`change` +1 or -1); the thread holds the process from the first to the last. */
  #owe(change: number): void {
    this.#owed += change;
    if (change > 0 && this.#owed === 1) this.#worker.ref();
    else if (change < 0 && this.#owed === 0) this.#worker.unref();
  }

  #onMessage(m: FromHashThread): void {
    if (this.failure) return; // its streams failed, and it owes nothing any more
    if (m.op === 'ready') {
      this.ready = true;
      this.#settle(true);
      return;
    }
    this.#owe(-1);
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
    this.#settle(false);
    if (this.#owed > 0) this.#owe(-this.#owed);
    for (const hasher of this.#streams.values()) hasher.failed(this.failure);
    this.#streams.clear();
  }
}

let thread: HashThread | undefined;

/** Starts the hashing thread if it is not started; undefined when it cannot be. */
function startedThread(): HashThread | undefined {
  try {
    thread ??= new HashThread();
  } catch {
    // No thread (out of resources for one): streams hash in place.
  }
  return thread;
}

/** A hasher for a new stream: in the hashing thread once it is ready, else in this one. */
export function streamHasher(): StreamHasher {
  const t = startedThread();
  return t?.ready && !t.failure ? t.hasher() : new LocalHasher();
}

/**
 * Starts the hashing thread if needed; resolves true once it is ready,
 * false if it stopped or cannot start.
 * @internal For tests, which need the thread rather than the in-place fallback.
 */
export async function hashThreadReady(): Promise<boolean> {
  const t = startedThread();
  return t ? (await t.whenSettled()) && !t.failure : false;
}

/**
 * Stops the hashing thread as a crash would: the streams it was hashing
 * fail, and later ones are hashed in the calling thread.
 * @internal For tests.
 */
export async function stopHashThread(): Promise<void> {
  await thread?.terminate();
}
