/**
 * `FrameLines`: reads the lines of one frame (a telegram, or a params or
 * kvlines block) line by line, and holds them to the reader's limits as
 * they are read: no line beyond `maxLine`, no more than `maxParams`
 * parameter lines, no more than `maxBytes` in all. A line is never buffered
 * past the bytes the frame has left, so a peer that sends too much is
 * stopped after the limit, not after all it sent.
 */
import { DdmwError } from '../err.ts';
import type { ChunkCursor } from './chunk-cursor.ts';
import { type DecodeLimits, lineTooLong, telegramTooLarge, tooManyParams } from './limits.ts';

export class FrameLines {
  readonly #chunks: ChunkCursor;
  readonly #limits: DecodeLimits;
  /** Bytes the frame may still take. */
  #bytesLeft: number;
  #params = 0;

  constructor(chunks: ChunkCursor, limits: DecodeLimits) {
    this.#chunks = chunks;
    this.#limits = limits;
    this.#bytesLeft = limits.maxBytes;
  }

  /** Reads the next line as text; `null` when the data ends at a line start. */
  async next(): Promise<string | null> {
    const { maxLine, maxBytes } = this.#limits;
    const room = this.#bytesLeft - 1; // the LF counts too
    const line =
      room < maxLine
        ? await this.#chunks.readLineText(room, () => telegramTooLarge(maxBytes))
        : await this.#chunks.readLineText(maxLine, () => lineTooLong(maxLine));
    if (line !== null) this.#bytesLeft -= this.#chunks.lineBytes;
    return line;
  }

  /**
   * Reads key/value lines up to the empty line that ends the frame, handing
   * each to `onPair`. Every line counts toward `maxParams`, even one that
   * is dropped (blather drops lines without a space) or repeats a key.
   */
  async readPairs(onPair: (key: string, value: string) => void): Promise<void> {
    const { maxParams } = this.#limits;
    for (;;) {
      const line = await this.next();
      if (line === null) {
        throw new DdmwError('DISCONNECTED', 'Disconnected: the data ended inside a frame');
      }
      if (line === '') return;
      if (++this.#params > maxParams) throw tooManyParams(maxParams);
      const sp = line.indexOf(' ');
      if (sp >= 0) onPair(line.slice(0, sp), line.slice(sp + 1));
    }
  }
}
