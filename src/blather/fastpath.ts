/**
 * Decoder fast path: decodes one telegram that lies wholly inside a single
 * buffer, with ASCII topic and keys, using byte tables and no string
 * creation except the topic (values are decoded lazily by `Params`).
 *
 * It only handles the happy path. On anything else (telegram not complete in
 * this buffer, an error, a limit exceeded, non-ASCII topic or key) it returns
 * `undefined` and the reader's line-by-line path, which is the reference
 * behaviour, decodes the same bytes and reports the exact error.
 */
import { isUtf8 } from 'node:buffer';
import type { DecodeLimits } from './limits.ts';
import { Params } from './params.ts';
import { Telegram } from './telegram.ts';
import { isAsciiKeyByte, TOPIC_FIRST_BYTE, TOPIC_REST_BYTE } from './validate.ts';

/** A read position in a buffer, advanced past a telegram on success. */
export interface Cursor {
  pos: number;
}

const LF = 10;
const CR = 13;
const SP = 32;

/** The last topic decoded, with a short list of others seen before it. */
let lastTopic = '';
const recentTopics: string[] = [];
const MAX_RECENT_TOPICS = 16;

function sameBytes(buf: Buffer, start: number, text: string): boolean {
  for (let j = 0; j < text.length; j++) if (buf[start + j] !== text.charCodeAt(j)) return false;
  return true;
}

/**
 * Returns the topic string, reusing a recently seen one: a connection
 * repeats a handful of topics (`Msg`, `Ok`, ...), and comparing a few bytes
 * is cheaper than creating a string for each telegram.
 */
function internTopic(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (lastTopic.length === n && sameBytes(buf, start, lastTopic)) return lastTopic;
  for (let i = 0; i < recentTopics.length; i++) {
    const t = recentTopics[i] as string;
    if (t.length === n && sameBytes(buf, start, t)) {
      lastTopic = t;
      return t;
    }
  }
  lastTopic = buf.toString('latin1', start, end);
  if (recentTopics.length >= MAX_RECENT_TOPICS) recentTopics.pop();
  recentTopics.unshift(lastTopic);
  return lastTopic;
}

/** Values longer than this are searched with native `indexOf` instead of a byte loop. */
const SHORT_VALUE = 48;

/**
 * Set by {@link findLF} when a value it searched may hold non-ASCII bytes
 * (it saw one, or searched natively without looking): the telegram's bytes
 * then need a UTF-8 check. A module variable rather than a result object,
 * to allocate nothing per value.
 */
let mayBeNonAscii = false;

/** Index of the LF that ends a value starting at `from`, or -1 when there is none before `end`. */
function findLF(buf: Buffer, from: number, end: number): number {
  const stop = Math.min(end, from + SHORT_VALUE);
  let i = from;
  let bits = 0;
  for (; i < stop; i++) {
    const b = buf[i] as number;
    if (b === LF) break;
    bits |= b;
  }
  if (bits >= 0x80) mayBeNonAscii = true;
  if (i < stop) return i;
  mayBeNonAscii = true;
  if (stop >= end) return -1;
  const lf = buf.indexOf(LF, stop);
  return lf < end ? lf : -1;
}

/**
 * Tries to decode a telegram starting at `cursor.pos` in `buf`; on success
 * moves the cursor past the telegram's empty line. One pass over the bytes:
 * topic and key bytes are checked as they are scanned, values are only
 * searched for their LF.
 * Topic and keys are ASCII by the byte tables; values are checked for
 * UTF-8 only when one may hold a non-ASCII byte. The limits cost next to
 * nothing per line: the scan never looks past `maxBytes` from the start, and
 * a line is indexed only while there is room for it, so a huge buffer is
 * neither scanned nor indexed past them.
 */
export function scanTelegram(
  buf: Buffer,
  cursor: Cursor,
  { maxLine, maxParams, maxBytes }: DecodeLimits,
): Telegram | undefined {
  const pos = cursor.pos;
  // The telegram must end before `end`: one that does not is incomplete, or over maxBytes.
  const end = Math.min(buf.length, pos + maxBytes);
  let q = pos;
  if (q >= end || TOPIC_FIRST_BYTE[buf[q] as number] !== 1) return undefined;
  q++;
  while (q < end && TOPIC_REST_BYTE[buf[q] as number] === 1) q++;
  const topicEnd = q;
  if (q < end && buf[q] === CR) q++;
  if (q >= end || buf[q] !== LF || q - pos > maxLine) return undefined;
  q++;
  const offsets: number[] = [];
  /** Room left in `offsets` (3 per line): every parameter line takes 3, even one that is dropped. */
  let room = 3 * maxParams;
  mayBeNonAscii = false;
  for (;;) {
    const p = q;
    while (q < end && isAsciiKeyByte(buf[q] as number)) q++;
    if (q >= end) return undefined;
    const b = buf[q];
    if (b === SP) {
      if (q === p) return undefined; // empty key: the reference path reports it
      const lf = findLF(buf, q + 1, end);
      if (lf < 0 || lf - p > maxLine || offsets.length >= room) return undefined;
      offsets.push(p, q, buf[lf - 1] === CR && lf - 1 > q ? lf - 1 : lf);
      q = lf + 1;
      continue;
    }
    // No space on this line: it ends at LF or CRLF, or it is not for the fast path.
    const lf = b === CR && q + 1 < end && buf[q + 1] === LF ? q + 1 : q;
    if (buf[lf] !== LF || lf - p > maxLine) return undefined;
    const empty = q === p;
    q = lf + 1;
    if (empty) break; // the empty line that ends the telegram
    // A non-empty line without a space is dropped (blather rule), but counts.
    room -= 3;
    if (offsets.length > room) return undefined;
  }
  if (mayBeNonAscii && !isUtf8(buf.subarray(pos, q))) return undefined;
  cursor.pos = q;
  return Telegram.fromDecoded(internTopic(buf, pos, topicEnd), Params.fromIndex(buf, offsets));
}
