/**
 * `SocketSource`: the byte source of a client connection. The socket reads
 * into one reused buffer (`net` `onread`), and that buffer is lent to the
 * `FrameReader` chunk by chunk (see `ByteSource.release`). While the reader
 * holds a chunk the socket does not read, so the buffer is never
 * overwritten under it, and unread data waits in the kernel (TCP flow
 * control is the backpressure). Compared with a `Readable` socket, no
 * memory is allocated per read and no stream machinery runs: a long receive
 * keeps a flat memory profile, and a request/reply round trip is shorter.
 */
import type { Socket } from 'node:net';
import type { ByteSource, ChunkCallback } from '../blather/index.ts';
import { toDdmwError } from '../err.ts';

/** Size of the reused read buffer: 64 KiB, as Node reads sockets by default. */
const READ_BUFFER_BYTES = 64 * 1024;

/** The `onread` socket option, and the source it feeds. */
export function socketSource(): {
  source: SocketSource;
  onread: { buffer: Buffer; callback: (nread: number, buf: Buffer) => boolean };
} {
  const source = new SocketSource();
  return {
    source,
    onread: {
      buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
      callback: (nread, buf) => source.arrive(buf.subarray(0, nread)),
    },
  };
}

export class SocketSource implements ByteSource {
  #socket: Socket | undefined;
  /** Bytes read while nobody was waiting; the socket is paused until they are taken. */
  #pending: Buffer | undefined;
  /** True while the reader holds a lent chunk. */
  #lent = false;
  #waiter: ChunkCallback | undefined;
  #ended = false;
  #error: unknown;

  /** Binds the source to its socket (created with the `onread` option of {@link socketSource}). */
  attach(socket: Socket): void {
    this.#socket = socket;
    socket.on('end', () => this.#finish());
    socket.on('close', () => this.#finish());
    socket.on('error', (err) => {
      this.#error = err;
      this.#finish();
    });
  }

  /**
   * Called by the socket for each read. Returns false to stop reading while
   * the buffer is still in use (lent, or holding unread bytes).
   */
  arrive(chunk: Buffer): boolean {
    const waiter = this.#waiter;
    if (!waiter) {
      this.#pending = chunk;
      return false;
    }
    this.#waiter = undefined;
    this.#lent = true;
    waiter(chunk);
    return !this.#lent;
  }

  release(): void {
    if (!this.#lent) return;
    this.#lent = false;
    if (!this.#pending && !this.#ended) this.#socket?.resume();
  }

  nextChunk(onChunk: ChunkCallback): void {
    this.#lent = false; // asking for more means the previous chunk is done with
    const pending = this.#pending;
    if (pending) {
      this.#pending = undefined;
      this.#lent = true;
      onChunk(pending);
      if (!this.#lent && !this.#ended) this.#socket?.resume();
    } else if (this.#error !== undefined) {
      onChunk(null, toDdmwError(this.#error, 'read failed'));
    } else if (this.#ended) {
      onChunk(null);
    } else {
      this.#waiter = onChunk;
      this.#socket?.resume();
    }
  }

  next(): Promise<Buffer | null> {
    return new Promise((resolve, reject) =>
      this.nextChunk((chunk, err) => (err ? reject(err) : resolve(chunk))),
    );
  }

  #finish(): void {
    this.#ended = true;
    const waiter = this.#waiter;
    if (!waiter || this.#pending) return;
    this.#waiter = undefined;
    if (this.#error !== undefined) waiter(null, toDdmwError(this.#error, 'read failed'));
    else waiter(null);
  }
}
