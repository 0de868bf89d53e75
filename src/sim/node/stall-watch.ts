/**
 * The byte source of a session, with a watch on stalled requests: each
 * time the session's reader waits for bytes from the client in the middle
 * of a request (a telegram cut short, the metadata or payload of a `Msg`,
 * a stream's chunk), a timer runs; if no byte comes before it fires, the
 * session is told. A wait at the start of a frame, where a client may rest
 * (between requests, between the chunks of a stream), is not timed when the
 * session says so with {@link StallWatch.rest}. Time spent while the node
 * itself holds the reader back (the link is busy) is never counted: the
 * reader does not ask for bytes then.
 */
import type { Socket } from 'node:net';
import { type ByteSource, type ChunkCallback, toByteSource } from '../../blather/index.ts';

/** Times the waits of a socket's reader; see the module comment. */
export class StallWatch implements ByteSource {
  readonly #source: ByteSource & Required<Pick<ByteSource, 'nextChunk'>>;
  readonly #stallMs: number;
  readonly #onStall: () => void;
  /** The next wait is at the start of a frame: not timed. */
  #resting = false;
  #timer: NodeJS.Timeout | undefined;
  #waiter: ChunkCallback | undefined;
  /** Waits started and answered, numbered, so that a wait answered at once starts no timer. */
  #asked = 0;
  #answered = 0;

  /**
   * @param socket the connection (read through its `data` events)
   * @param stallMs the longest wait for a byte in the middle of a request
   * @param onStall called when a wait took longer
   */
  constructor(socket: Socket, stallMs: number, onStall: () => void) {
    this.#source = toByteSource(socket) as ByteSource & Required<Pick<ByteSource, 'nextChunk'>>;
    this.#stallMs = stallMs;
    this.#onStall = onStall;
  }

  /** The client may rest before its next byte: the next wait is not timed. */
  rest(): void {
    this.#resting = true;
  }

  nextChunk(onChunk: ChunkCallback): void {
    const wait = ++this.#asked;
    const timed = !this.#resting;
    this.#waiter = onChunk;
    this.#source.nextChunk(this.#answer);
    if (timed && this.#answered < wait) this.#timer = setTimeout(this.#onStall, this.#stallMs);
  }

  next(): Promise<Buffer | null> {
    return new Promise((resolve, reject) =>
      this.nextChunk((chunk, err) => (err ? reject(err) : resolve(chunk))),
    );
  }

  /** Bytes (or the end) arrived: the wait is over, and the client is in the middle of something. */
  readonly #answer: ChunkCallback = (chunk, err) => {
    this.#answered = this.#asked;
    this.#resting = false;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const waiter = this.#waiter as ChunkCallback;
    this.#waiter = undefined;
    waiter(chunk, err);
  };
}
