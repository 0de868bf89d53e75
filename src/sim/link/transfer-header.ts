/**
 * The header of a link transfer: one blather telegram whose topic names
 * what the transfer carries (`Msg` for a message, the {@link STREAM_TOPICS}
 * for the parts of a stream). Both ends of the link and the nodes use it.
 */
import { FrameReader, type Telegram } from '../../blather/index.ts';

/** Topics of the stream transfers on the link (their headers). */
export const STREAM_TOPICS = {
  start: 'Strm',
  segment: 'StrmSeg',
  end: 'StrmEnd',
  abort: 'StrmAbort',
} as const;

/**
 * A stream that gets nothing from the link for this long is given up: its
 * end was lost (an open stream sends an empty segment when quiet,
 * sender/strmif.ts). The receiver node aborts it; the link's receiving end
 * forgets its digest.
 */
export const STREAM_IDLE_MS = 120_000;

/** Decodes a transfer header: exactly one telegram. Throws when it is anything else. */
export async function decodeHeader(bytes: Uint8Array): Promise<Telegram> {
  let pulled = false;
  const reader = new FrameReader({
    next: async () => {
      if (pulled) return null;
      pulled = true;
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
  });
  const tg = await reader.readTelegram();
  if (reader.buffered > 0) throw new Error('bytes follow the header telegram');
  return tg;
}
