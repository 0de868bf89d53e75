/**
 * Topic, key and value rules of the blather wire format (wire-protocol.md
 * §1.2, §1.3). Each rule exists as a regex over strings (the reference, used
 * for anything non-ASCII), as byte tables for the decoder's ASCII fast path,
 * and, for keys and values, as a character loop for short strings (cheaper
 * than a regex call on every `Params.set`). All must agree; the tests check
 * them against each other.
 */
import { DdmwError } from '../err.ts';

// ASCII-only forms, tried first: much cheaper than the Unicode property classes.
const ASCII_TOPIC_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;
const ASCII_KEY_RE = /^[!-~]+$/;
const TOPIC_RE = /^\p{Alphabetic}[\p{Alphabetic}\p{N}_-]*$/u;
const TOPIC_FIRST_RE = /^\p{Alphabetic}/u;
/** Matches a value that cannot travel intact: a LF, a trailing CR, or a lone surrogate. */
const BAD_VALUE_RE = /\n|\r$|[\uD800-\uDFFF]/u;
const KEY_RE = /^[\p{Alphabetic}\p{N}!-/:-@[-`{-~]+$/u;

/** Shortens text quoted in an error message so that a huge line cannot flood a log. */
export function quote(text: string): string {
  const shown = text.length > 64 ? `${text.slice(0, 64)}...` : text;
  return JSON.stringify(shown);
}

/** Throws a `BLATHER` error unless `topic` is a valid telegram topic. */
export function validateTopic(topic: string): void {
  if (ASCII_TOPIC_RE.test(topic) || TOPIC_RE.test(topic)) return;
  if (topic.length === 0) {
    throw new DdmwError('BLATHER', 'Empty or broken topic: a telegram needs a topic');
  }
  const what = TOPIC_FIRST_RE.test(topic)
    ? 'Invalid topic character'
    : 'Invalid leading topic character';
  throw new DdmwError(
    'BLATHER',
    `${what} in topic ${quote(topic)}: a topic starts with a letter and continues with letters, digits, '_' or '-'`,
  );
}

/** Up to this length a character loop beats a regex call (keys and values are mostly short). */
const SHORT_TEXT = 32;

/** True for a short, non-empty key of printable ASCII (the common case, checked without a regex). */
function isShortAsciiKey(key: string): boolean {
  const n = key.length;
  if (n === 0 || n > SHORT_TEXT) return false;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** True for a short value with no LF, no surrogate and no trailing CR (fine to send, no regex needed). */
function isShortPlainValue(value: string): boolean {
  const n = value.length;
  if (n > SHORT_TEXT) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 10 || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return n === 0 || value.charCodeAt(n - 1) !== 13;
}

/** Throws a `BLATHER` error unless `key` is a valid Telegram/Params key. */
export function validateKey(key: string): void {
  if (isShortAsciiKey(key) || ASCII_KEY_RE.test(key) || KEY_RE.test(key)) return;
  if (key.length === 0) {
    throw new DdmwError('BLATHER', 'Empty or broken key: a parameter key cannot be empty');
  }
  throw new DdmwError(
    'BLATHER',
    `Invalid key character in key ${quote(key)}: keys hold letters, digits and ASCII punctuation only`,
  );
}

/**
 * Throws a `BLATHER` error if `value` cannot travel intact on one line: it
 * contains a line feed, or ends with a carriage return (which the receiver
 * strips as part of CRLF), or holds a lone surrogate. The value itself is never quoted (it may be a secret).
 */
export function validateValue(key: string, value: string): void {
  if (isShortPlainValue(value) || !BAD_VALUE_RE.test(value)) return;
  if (value.indexOf('\n') !== -1) {
    throw new DdmwError(
      'BLATHER',
      `The value of parameter ${quote(key)} contains a line feed; values cannot span lines (send multi-line data as a payload)`,
    );
  }
  if (value.charCodeAt(value.length - 1) === 13) {
    throw new DdmwError(
      'BLATHER',
      `The value of parameter ${quote(key)} ends with a carriage return, which the receiver would strip; remove it`,
    );
  }
  throw new DdmwError(
    'BLATHER',
    `The value of parameter ${quote(key)} holds a lone UTF-16 surrogate, which cannot be encoded as UTF-8`,
  );
}

/**
 * Throws a `BLATHER` error if a KVLines key cannot travel intact. KVLines keys
 * are not validated by blather, but a key holding a space or a line break
 * would decode differently, so the encoder refuses it.
 */
export function validateKVLinesKey(key: string): void {
  if (/[ \n\r]|[\uD800-\uDFFF]/u.test(key)) {
    throw new DdmwError(
      'BLATHER',
      `The KVLines key ${quote(key)} contains a space, a line break or a lone surrogate; it would not decode to the same key`,
    );
  }
}

function table(accept: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 128; c++) t[c] = accept(c) ? 1 : 0;
  return t;
}

const isAsciiLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isAsciiDigit = (c: number) => c >= 48 && c <= 57;

/** ASCII bytes allowed as the first byte of a topic. Non-ASCII bytes are 0 (use the regex). */
export const TOPIC_FIRST_BYTE: Uint8Array = table(isAsciiLetter);
/** ASCII bytes allowed after the first byte of a topic. */
export const TOPIC_REST_BYTE: Uint8Array = table(
  (c) => isAsciiLetter(c) || isAsciiDigit(c) || c === 95 || c === 45,
);
/**
 * True for an ASCII byte allowed in a key. Letters, digits and punctuation
 * together are exactly the printable range 0x21-0x7E.
 */
export function isAsciiKeyByte(b: number): boolean {
  return (b - 0x21) >>> 0 <= 0x7e - 0x21;
}
