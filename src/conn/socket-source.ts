/**
 * `SocketSource`: the byte source of a client connection. The socket reads
 * into a reused buffer (`net` `onread`), and that buffer is lent to a
 * waiting `FrameReader` (see `ByteSource.release`). While the reader holds
 * it the socket does not read, so the buffer is never overwritten under
 * it, and unread data waits in the kernel (TCP flow control is the
 * backpressure). Bytes that come while nobody reads are copied, up to a
 * small limit. Compared with a `Readable` socket, no
 * memory is allocated per read and no stream machinery runs: a long receive
 * keeps a flat memory profile, and a request/reply round trip is shorter.
 */
import type { Socket } from 'node:net';
import type { ChunkCallback } from '../blather/index.ts';
import { StreamSource } from '../blather/source.ts';

/** Size of the read buffer while replies are small: 64 KiB, as Node reads sockets by default. */
const SMALL_READ_BYTES = 64 * 1024;
/**
 * Size of the read buffer while bulk data flows to a waiting reader (a read
 * filled the small one, and was lent): a large payload then takes a
 * sixteenth of the reads, and of the work each read costs (measured: 64 MiB
 * from the node in about 40 ms instead of 55 ms). Allocated on the first
 * such read and kept. A read that nobody waits for is queued as a copy
 * (see {@link QUEUE_LIMIT}): the next one goes to the small buffer again.
 */
const LARGE_READ_BYTES = 1024 * 1024;

/** The `onread` socket option, and the source it feeds. */
export function socketSource(): {
  source: SocketSource;
  onread: { buffer: () => Buffer; callback: (nread: number, buf: Buffer) => boolean };
} {
  const source = new SocketSource();
  const small = Buffer.allocUnsafe(SMALL_READ_BYTES);
  let large: Buffer | undefined;
  let bulk = false;
  return {
    source,
    onread: {
      // Asked before every read: the large buffer only while reads come full.
      buffer: () => {
        if (!bulk) return small;
        large ??= Buffer.allocUnsafeSlow(LARGE_READ_BYTES);
        return large;
      },
      callback: (nread, buf) => {
        bulk = nread >= SMALL_READ_BYTES && source.reading;
        return source.arrive(buf.subarray(0, nread));
      },
    },
  };
}

/**
 * Bytes that arrive while nobody reads are copied and queued, until the
 * queue holds this much; then the socket pauses. The read that crosses it
 * is queued whole: 64 KiB at most, or 1 MiB when it comes just after bulk
 * data a reader took (Node chooses the buffer of the next read as the
 * previous one is handed over). An idle connection so still reads a
 * little, enough to notice when the peer closes.
 */
const QUEUE_LIMIT = 64 * 1024;

export class SocketSource extends StreamSource {
  #socket: Socket | undefined;
  /** True while the reader holds a lent chunk (the socket is paused meanwhile). */
  #lent = false;
  /**
   * True while the socket may not be reading: it stopped after a lent read
   * or a full queue, or was paused. Only then is `resume()` called, which
   * is not free and otherwise runs twice per round trip.
   */
  #stopped = true;

  /** True while a reader waits for the next chunk (it will be lent, not queued). */
  get reading(): boolean {
    return this.waiter !== undefined;
  }

  /** Binds the source to its socket (created with the `onread` option of {@link socketSource}). */
  attach(socket: Socket): void {
    this.#socket = socket;
    this.watch(socket);
  }

  /**
   * Called by the socket for each read. A waiting reader gets the buffer
   * itself, lent; otherwise a copy is queued. Returns false to stop reading:
   * while the buffer is lent, or once the queue is full.
   */
  arrive(chunk: Buffer): boolean {
    const waiter = this.waiter;
    if (!waiter) {
      this.queue.push(Buffer.from(chunk));
      this.queued += chunk.length;
      return this.queued < QUEUE_LIMIT || this.#stop();
    }
    this.waiter = undefined;
    this.#lent = true;
    waiter(chunk);
    return !this.#lent || this.#stop();
  }

  /** The socket stops reading (the `false` that `arrive` returns to it): noted, to resume it later. */
  #stop(): false {
    this.#stopped = true;
    return false;
  }

  release(): void {
    if (!this.#lent) return;
    this.#lent = false;
    this.#resume();
  }

  nextChunk(onChunk: ChunkCallback): void {
    this.#lent = false; // asking for more means the previous chunk is done with
    const queued = this.queue.shift();
    if (queued) {
      this.queued -= queued.length;
      // Held like a lent chunk: no reading meanwhile, so that later data goes
      // straight to a waiting reader (lent) instead of being copied.
      this.#lent = true;
      this.#stopped = true;
      this.#socket?.pause();
      onChunk(queued);
      if (!this.#lent) this.#resume();
    } else if (!this.answerEnd(onChunk)) {
      this.waiter = onChunk;
      this.#resume();
    }
  }

  /** Reads on, unless the queue is full or the socket is done. */
  #resume(): void {
    if (!this.#stopped || this.queued >= QUEUE_LIMIT || this.ended || !this.#socket) return;
    this.#stopped = false;
    this.#socket.resume();
  }
}
