/**
 * The bytes of a stream segment while the sender node gathers them from
 * the client's `Chunk`s. A piece that is large and fills most of its memory
 * (a socket read, as a busy stream brings them) is kept as it is: the link
 * copies it into its frames, once. Any other piece is copied into a
 * staging buffer, so the memory a stream's segments hold stays within
 * about twice their bytes plus two staging buffers (the one being filled
 * may be shared with a segment already taken), whatever the client's
 * chunking: a 1-byte piece kept as it is would hold its whole 64 KiB read.
 */

/** A piece is kept as it is from this size, when it fills at least half of its memory. */
const KEEP_FROM_BYTES = 16 * 1024;
/** Size of the buffers smaller pieces are copied into. */
const STAGING_BYTES = 64 * 1024;

export class SegmentPieces {
  #pieces: Buffer[] = [];
  #bytes = 0;
  /** The staging buffer being filled, and its bytes not yet in {@link #pieces}: `[#stagedFrom, #stagedTo)`. */
  #staging: Buffer | undefined;
  #stagedFrom = 0;
  #stagedTo = 0;

  /** Bytes gathered since the last {@link take}. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Adds `piece` (kept or copied: the caller must not change it afterwards). */
  add(piece: Buffer): void {
    this.#bytes += piece.length;
    if (piece.length >= KEEP_FROM_BYTES && piece.length * 2 >= piece.buffer.byteLength) {
      this.#closeStaged();
      this.#pieces.push(piece);
      return;
    }
    let at = 0;
    while (at < piece.length) {
      if (!this.#staging || this.#stagedTo === this.#staging.length) {
        this.#closeStaged();
        this.#staging = Buffer.allocUnsafeSlow(STAGING_BYTES);
        this.#stagedFrom = 0;
        this.#stagedTo = 0;
      }
      const n = piece.copy(this.#staging, this.#stagedTo, at);
      this.#stagedTo += n;
      at += n;
    }
  }

  /** The pieces gathered, their bytes in order; gathering starts afresh. */
  take(): Buffer[] {
    this.#closeStaged();
    const pieces = this.#pieces;
    this.#pieces = [];
    this.#bytes = 0;
    return pieces;
  }

  /** Ends the staged run of bytes: it goes into the pieces, in its place. */
  #closeStaged(): void {
    if (!this.#staging || this.#stagedTo === this.#stagedFrom) return;
    this.#pieces.push(this.#staging.subarray(this.#stagedFrom, this.#stagedTo));
    this.#stagedFrom = this.#stagedTo;
  }
}
