/**
 * `Params`: the key/value map of a telegram or a params block.
 *
 * Keys are validated when set, values must fit on one line, and the typed
 * getters follow the Rust blather accessors (wire-protocol.md §3). Decoded
 * params are lazy: the decoder hands over the line offsets in its buffer and
 * strings are only created when the map is first read.
 */
import { inspect } from 'node:util';
import { DdmwError } from '../err.ts';
import { quote, validateKey, validateValue } from './validate.ts';
import {
  type BigIntRange,
  formatBool,
  formatList,
  formatScalar,
  type IntRange,
  parseBigIntValue,
  parseBoolValue,
  parseIntValue,
  parseListValue,
  SAFE_INT,
  U64,
} from './values.ts';

/** A value a setter accepts: strings as they are, numbers in decimal, booleans as `True`/`False`. */
export type ParamValue = string | number | bigint | boolean;

/** What a `Params` can be built from. */
export type ParamsInit =
  | Params
  | Iterable<readonly [string, ParamValue]>
  | Readonly<Record<string, ParamValue>>;

/** Shown instead of the value of a key marked secret. */
const REDACTED = '<redacted>';

/** An unordered set of unique keys with string values (blather `Params`). */
export class Params implements Iterable<[string, string]> {
  #map: Map<string, string> | undefined;
  /**
   * Decoded but not yet materialized: the buffer and, for each line, the key
   * start, the index of the separating space and the value end (EOL
   * removed). Keys in such an index are known to be ASCII.
   */
  #lazyBuf: Buffer | undefined;
  #lazyOffsets: number[] | undefined;
  #secret: Set<string> | undefined;

  constructor(init?: ParamsInit) {
    if (init === undefined) return; // the map is created on first use
    this.#map = new Map();
    if (init instanceof Params) {
      for (const [k, v] of init) this.#map.set(k, v);
      if (init.#secret) this.#secret = new Set(init.#secret);
      return;
    }
    const entries: Iterable<readonly [string, ParamValue]> =
      Symbol.iterator in init
        ? (init as Iterable<readonly [string, ParamValue]>)
        : Object.entries(init as Record<string, ParamValue>);
    for (const [k, v] of entries) this.set(k, v);
  }

  /**
   * Builds params over decoded line offsets without creating strings yet.
   * @internal Used by the decoder only.
   */
  static fromIndex(buf: Buffer, offsets: number[]): Params {
    const p = new Params();
    p.#lazyBuf = buf;
    p.#lazyOffsets = offsets;
    return p;
  }

  /**
   * Copies the decoded bytes these params still point into, so that they no
   * longer depend on the decoder's buffer (which a lending source reuses).
   * @internal Used by the decoder only.
   */
  ownBytes(): void {
    const buf = this.#lazyBuf;
    const offsets = this.#lazyOffsets;
    if (!buf || !offsets || offsets.length === 0) return;
    const start = offsets[0] as number;
    const copy = Buffer.from(buf.subarray(start, offsets[offsets.length - 1]));
    this.#lazyBuf = copy;
    this.#lazyOffsets = offsets.map((o) => o - start);
  }

  /**
   * Builds params from already decoded entries, without validation.
   * @internal Used by the decoder only (it validates keys itself).
   */
  static fromDecoded(map: Map<string, string>): Params {
    const p = new Params();
    p.#map = map;
    return p;
  }

  #entries(): Map<string, string> {
    if (this.#map) return this.#map;
    const map = new Map<string, string>();
    this.#map = map;
    const buf = this.#lazyBuf;
    const offsets = this.#lazyOffsets;
    if (!buf || !offsets) return map;
    for (let i = 0; i < offsets.length; i += 3) {
      const ks = offsets[i] as number;
      const sp = offsets[i + 1] as number;
      const ve = offsets[i + 2] as number;
      map.set(buf.toString('latin1', ks, sp), buf.toString('utf8', sp + 1, ve));
    }
    this.#lazyBuf = undefined; // release the socket chunk
    this.#lazyOffsets = undefined;
    return map;
  }

  /**
   * Looks one key up. Decoded params answer from the line index without
   * building the map (the last duplicate wins, as on materialization).
   */
  #lookup(key: string): string | undefined {
    const buf = this.#lazyBuf;
    const offsets = this.#lazyOffsets;
    if (!buf || !offsets) return this.#map?.get(key);
    const i = this.#lineOf(buf, offsets, key);
    return i < 0 ? undefined : buf.toString('utf8', (offsets[i + 1] as number) + 1, offsets[i + 2]);
  }

  /** Index in the line offsets of the last line with `key` (decoded params), or -1. */
  #lineOf(buf: Buffer, offsets: number[], key: string): number {
    const n = key.length;
    for (let i = offsets.length - 3; i >= 0; i -= 3) {
      const ks = offsets[i] as number;
      const sp = offsets[i + 1] as number;
      if (sp - ks !== n) continue;
      let j = 0;
      while (j < n && buf[ks + j] === key.charCodeAt(j)) j++;
      if (j === n) return i;
    }
    return -1;
  }

  /**
   * The value of `key` when it is plain decimal digits (1 to 15 of them:
   * exact as a number) in decoded params, read from the bytes without
   * making a string; else `undefined`, and the caller takes the general
   * path (which reports what is wrong). Replies are mostly small numbers.
   */
  #digits(key: string): number | undefined {
    const buf = this.#lazyBuf;
    const offsets = this.#lazyOffsets;
    if (!buf || !offsets) return undefined;
    const i = this.#lineOf(buf, offsets, key);
    if (i < 0) return undefined;
    const start = (offsets[i + 1] as number) + 1;
    const end = offsets[i + 2] as number;
    if (end === start || end - start > 15) return undefined;
    let n = 0;
    for (let at = start; at < end; at++) {
      const d = (buf[at] as number) - 48;
      if (d < 0 || d > 9) return undefined;
      n = n * 10 + d;
    }
    return n;
  }

  /** Number of keys. */
  get size(): number {
    return this.#entries().size;
  }

  /** True when `key` is present. */
  has(key: string): boolean {
    return this.#lookup(key) !== undefined;
  }

  /** The raw string value, or `undefined` when the key is missing. */
  get(key: string): string | undefined {
    return this.#lookup(key);
  }

  #require(key: string): string {
    const v = this.#lookup(key);
    if (v === undefined) throw new DdmwError('MISSING_DATA', `Parameter ${quote(key)} not found`);
    return v;
  }

  /** The string value; `MISSING_DATA` when missing. */
  getStr(key: string): string {
    return this.#require(key);
  }

  /** The string value, or `def` when the key is missing. */
  getStrDef(key: string, def: string): string {
    return this.#lookup(key) ?? def;
  }

  /** The value as an integer within `range` (default: safe integers). */
  getInt(key: string, range: IntRange = SAFE_INT): number {
    const n = this.#digits(key);
    if (n !== undefined && n >= range.min && n <= range.max) return n;
    return parseIntValue(key, this.#require(key), range);
  }

  /** Like {@link getInt}, but `def` when the key is missing (a bad value is still an error). */
  getIntDef(key: string, def: number, range: IntRange = SAFE_INT): number {
    const v = this.#lookup(key);
    return v === undefined ? def : parseIntValue(key, v, range);
  }

  /** The value as a bigint within `range` (default: u64). */
  getBigInt(key: string, range: BigIntRange = U64): bigint {
    return parseBigIntValue(key, this.#require(key), range);
  }

  /** Like {@link getBigInt}, but `def` when the key is missing. */
  getBigIntDef(key: string, def: bigint, range: BigIntRange = U64): bigint {
    const v = this.#lookup(key);
    return v === undefined ? def : parseBigIntValue(key, v, range);
  }

  /** The value as a boolean (y/yes/t/true/1, n/no/f/false/0, any case). */
  getBool(key: string): boolean {
    return parseBoolValue(key, this.#require(key));
  }

  /** Like {@link getBool}, but `def` when the key is missing. */
  getBoolDef(key: string, def: boolean): boolean {
    const v = this.#lookup(key);
    return v === undefined ? def : parseBoolValue(key, v);
  }

  /** The value split on `,` with empty items dropped; a missing key gives `[]`. */
  getStrList(key: string): string[] {
    const v = this.#lookup(key);
    return v === undefined ? [] : parseListValue(v);
  }

  /** Like {@link getStrList}, deduplicated. */
  getStrSet(key: string): Set<string> {
    return new Set(this.getStrList(key));
  }

  /** Sets `key`. Throws `BLATHER` for an invalid key or a value that cannot fit on one line. */
  set(key: string, value: ParamValue): this {
    validateKey(key);
    const text = formatScalar(key, value);
    validateValue(key, text);
    this.#entries().set(key, text);
    return this;
  }

  /** Sets a boolean as `True` / `False`. */
  setBool(key: string, value: boolean): this {
    return this.set(key, formatBool(value));
  }

  /** Sets a comma-joined list. Items may not be empty or contain `,`. */
  setList(key: string, items: Iterable<string>): this {
    return this.set(key, formatList(key, items));
  }

  /**
   * Marks `key` as secret: its value is replaced by `<redacted>` in
   * `toString()` and `util.inspect` output. The wire encoding is unchanged.
   */
  markSecret(key: string): this {
    if (!this.#secret) this.#secret = new Set();
    this.#secret.add(key);
    return this;
  }

  /** Removes `key`; true if it was present. */
  delete(key: string): boolean {
    return this.#entries().delete(key);
  }

  /** The keys, in insertion order. */
  keys(): IterableIterator<string> {
    return this.#entries().keys();
  }

  /** The key/value pairs, in insertion order. */
  entries(): IterableIterator<[string, string]> {
    return this.#entries().entries();
  }

  /** The key/value pairs, in insertion order (same as {@link entries}). */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** A plain object copy (secrets included: it is data, not a display form). */
  toObject(): Record<string, string> {
    return Object.fromEntries(this.#entries());
  }

  /** A read-only map view of the entries (used for error reports). */
  toMap(): ReadonlyMap<string, string> {
    return new Map(this.#entries());
  }

  /** Encoded size in bytes: `Σ(len(k) + 1 + len(v) + 1) + 1` (blather `calc_buf_size`). */
  encodedSize(): number {
    let size = 1;
    for (const [k, v] of this.#entries()) {
      size += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
    }
    return size;
  }

  /** The debug display form `{k=v,k2=v2}`, with secret values redacted. Never sent on the wire. */
  toString(): string {
    const parts: string[] = [];
    for (const [k, v] of this.#entries()) {
      parts.push(`${k}=${this.#secret?.has(k) ? REDACTED : v}`);
    }
    return `{${parts.join(',')}}`;
  }

  /** Display form for `util.inspect` and `console.log`: `Params {k=v,...}`, secrets redacted. */
  [inspect.custom](): string {
    return `Params ${this.toString()}`;
  }
}

export type { BigIntRange, IntRange };
