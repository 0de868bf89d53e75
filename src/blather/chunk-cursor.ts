/**
 * `ChunkCursor`: the `FrameReader`'s hold on its byte source. It keeps the
 * current chunk and a read position in it, pulls the next chunk when the
 * current one is used up, gives lent chunks back (see `ByteSource.release`),
 * and reads the two shapes every frame is made of: lines and raw bytes.
 * The frame rules (telegrams, params, payload kinds, error handling) stay
 * in the reader.
 */
import { isUtf8 } from 'node:buffer';
import { DdmwError } from '../err.ts';
import type { ByteSource } from './source.ts';

const EMPTY = Buffer.alloc(0);

/** How a raw read ended: `failed` when the consumer threw (the bytes were still all read). */
export interface RawOutcome {
  failed: boolean;
  error: unknown;
}

export class ChunkCursor {
  readonly source: ByteSource;
  /** The current chunk; bytes before `pos` are consumed. */
  buf: Buffer = EMPTY;
  pos = 0;
  /** Set once the source has ended. */
  eof = false;
  /** Bytes the last line read took, its line end included. */
  lineBytes = 0;

  constructor(source: ByteSource) {
    this.source = source;
  }

  /** True when the source lends its chunks (see `ByteSource.release`): what outlives a call must be copied. */
  get lends(): boolean {
    return this.source.release !== undefined;
  }

  /** Bytes of the current chunk not consumed yet. */
  get buffered(): number {
    return this.buf.length - this.pos;
  }

  /** Makes `chunk` the current buffer (the previous one must be fully consumed). */
  setChunk(chunk: Buffer): void {
    this.buf = chunk;
    this.pos = 0;
  }

  /** Gives a lent chunk back to its source once every byte of it is consumed. */
  releaseIfDone(): void {
    if (this.pos >= this.buf.length) this.source.release?.();
  }

  /**
   * Copies the unconsumed bytes out of a lent chunk and gives it back, so
   * that the source can read on. Only while nothing else uses the chunk.
   */
  ownRest(): void {
    if (!this.lends || this.pos >= this.buf.length) return;
    this.setChunk(Buffer.from(this.buf.subarray(this.pos)));
    this.source.release?.();
  }

  /** Replaces the (fully consumed) buffer with the next chunk; false at end of data. */
  async pull(): Promise<boolean> {
    if (this.eof) return false;
    for (;;) {
      const chunk = await this.source.next();
      if (chunk === null) {
        this.eof = true;
        return false;
      }
      if (chunk.length > 0) {
        this.setChunk(chunk);
        return true;
      }
    }
  }

  /**
   * Hands exactly `n` raw bytes to `onChunk` piece by piece, awaiting it
   * between pieces. If `onChunk` throws, the rest is still read (and
   * dropped) and the outcome carries the error. End of data first is a
   * `DISCONNECTED` error.
   */
  async rawChunks(
    n: number,
    onChunk: (chunk: Buffer) => void | Promise<void>,
  ): Promise<RawOutcome> {
    let left = n;
    const outcome: RawOutcome = { failed: false, error: undefined };
    while (left > 0) {
      if (this.pos >= this.buf.length && !(await this.pull())) {
        throw new DdmwError(
          'DISCONNECTED',
          `Disconnected: the data ended ${left} bytes before the end of a ${n}-byte payload`,
        );
      }
      const take = Math.min(left, this.buf.length - this.pos);
      const piece = this.buf.subarray(this.pos, this.pos + take);
      this.pos += take;
      left -= take;
      if (outcome.failed) continue;
      try {
        await onChunk(piece);
      } catch (err) {
        outcome.failed = true;
        outcome.error = err;
      }
    }
    return outcome;
  }

  /**
   * Reads one line and returns its content (EOL removed) as bytes, or `null`
   * when the data ends exactly at a line start. Throws `tooLong()` as soon
   * as more than `maxLine` bytes (CR included) are buffered with no LF.
   * Sets {@link lineBytes}.
   */
  async readLine(maxLine: number, tooLong: () => DdmwError): Promise<Buffer | null> {
    let partial: Buffer | undefined;
    for (;;) {
      const buf = this.buf;
      const pos = this.pos;
      const have = partial ? partial.length : 0;
      const lf = buf.indexOf(10, pos);
      const avail = (lf < 0 ? buf.length : lf) - pos;
      if (have + avail > maxLine) throw tooLong();
      if (lf >= 0) {
        this.pos = lf + 1;
        this.lineBytes = have + avail + 1;
        const part = buf.subarray(pos, lf);
        const line = partial ? Buffer.concat([partial, part]) : part;
        return line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, -1) : line;
      }
      if (avail > 0) {
        const rest = buf.subarray(pos);
        partial = partial ? Buffer.concat([partial, rest]) : Buffer.from(rest);
      }
      this.pos = buf.length;
      if (!(await this.pull())) {
        if (partial)
          throw new DdmwError('DISCONNECTED', 'Disconnected: the data ended inside a line');
        return null;
      }
    }
  }

  /** Reads a line as UTF-8 text; `null` when the data ends at a line start. */
  async readLineText(maxLine: number, tooLong: () => DdmwError): Promise<string | null> {
    const line = await this.readLine(maxLine, tooLong);
    if (line === null) return null;
    if (!isUtf8(line)) {
      throw new DdmwError(
        'BLATHER',
        'Unable to decode input as UTF8: a received line is not valid UTF-8',
      );
    }
    return line.toString('utf8');
  }
}
