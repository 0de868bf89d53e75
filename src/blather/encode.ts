/**
 * Encoder: telegrams, params and kvlines to the exact bytes of
 * wire-protocol.md §1.4 and §2. Always a bare LF; keys in insertion order.
 * Values are checked again here because decoded params may hold values (such
 * as one ending in CR) that could not be sent back intact.
 */
import { KVLines } from './kvlines.ts';
import type { Params } from './params.ts';
import type { Telegram } from './telegram.ts';
import { validateKVLinesKey, validateValue } from './validate.ts';

function paramLines(params: Params): string {
  let out = '';
  for (const [k, v] of params) {
    validateValue(k, v);
    out += `${k} ${v}\n`;
  }
  return out;
}

/** The wire text of a telegram: `topic LF (key SP value LF)* LF`. */
export function telegramText(tg: Telegram): string {
  return replyText(tg.topic, tg.params);
}

/**
 * {@link telegramText} of a topic known to be valid (a constant such as
 * `Ok`) and its params, without building a `Telegram`: a server's replies.
 * @internal
 */
export function replyText(topic: string, params: Params): string {
  return `${topic}\n${paramLines(params)}\n`;
}

/** Encodes a telegram to bytes. Throws `BLATHER` for a value that cannot travel on one line. */
export function encodeTelegram(tg: Telegram): Buffer {
  return Buffer.from(telegramText(tg), 'utf8');
}

/** Encodes a params block (key/value lines and an empty line). An empty block is a single LF. */
export function encodeParams(params: Params): Buffer {
  return Buffer.from(`${paramLines(params)}\n`, 'utf8');
}

/** Encodes a kvlines block, order and duplicates kept. */
export function encodeKVLines(lines: KVLines | Iterable<readonly [string, string]>): Buffer {
  const list = lines instanceof KVLines ? lines : new KVLines(lines);
  let out = '';
  for (const [k, v] of list) {
    validateKVLinesKey(k);
    validateValue(k, v);
    out += `${k} ${v}\n`;
  }
  return Buffer.from(`${out}\n`, 'utf8');
}
