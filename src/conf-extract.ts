/**
 * Reading the standard keys out of a parsed `ddmwapp.toml` for `conf.ts`:
 * type checks, `CONFIG` errors that name the file, key and line, and
 * duration parsing. Internal to the library.
 */
// parse-duration: tiny, no dependencies, ships its own ESM types, and handles
// long unit names ("1 minute") and compound durations ("1m 30s"); `ms`
// handles neither compounds nor TS types without @types/ms.
import parseDuration from 'parse-duration';
import type { ConfigTable, ConfigValue } from './conf.ts';
import { parseProtAddr } from './conn/addr.ts';
import { DdmwError } from './err.ts';

/** A `CONFIG` error about `key`, located as precisely as known. */
export function configError(
  source: string | undefined,
  line: number | undefined,
  problem: string,
  cause?: unknown,
): DdmwError {
  const where =
    source === undefined
      ? ''
      : line === undefined
        ? ` in ${source}`
        : ` in ${source} at line ${line}`;
  return new DdmwError('CONFIG', `Invalid config${where}: ${problem}`, { cause });
}

/**
 * Finds the line (1-based) that sets `key` in `[table]` (or at the top level
 * when `table` is undefined), also as a dotted `table.key` at the top level.
 * A best-effort scan, not a TOML parser: inline tables and keys inside
 * multi-line strings are not recognized. Keys here are fixed identifiers, so
 * they need no regex escaping.
 */
export function findKeyLine(
  text: string,
  table: string | undefined,
  key: string,
): number | undefined {
  const plain = new RegExp(`^(["']?)${key}\\1\\s*=`);
  const dotted = table === undefined ? undefined : new RegExp(`^${table}\\s*\\.\\s*${key}\\s*=`);
  let current = ''; // '' is the top level
  for (const [index, rawLine] of text.split('\n').entries()) {
    const line = rawLine.trim();
    if (line.startsWith('[')) {
      const header = /^\[\s*(["']?)([\w-]+)\1\s*\]/.exec(line);
      current = header?.[2] ?? '[other]'; // arrays of tables and dotted headers never match
    } else if (
      (current === (table ?? '') && plain.test(line)) ||
      (current === '' && dotted?.test(line))
    ) {
      return index + 1;
    }
  }
  return undefined;
}

/** Drops the keys whose value is `undefined`, so sections list only what the file sets. */
export function compact<T extends object>(section: T): T {
  return Object.fromEntries(Object.entries(section).filter(([, v]) => v !== undefined)) as T;
}

/** Describes a TOML value's type for an error message, never its content. */
function typeName(value: ConfigValue): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a table';
  return `a ${typeof value}`;
}

/**
 * Reads the standard keys out of a parsed document, throwing `CONFIG` errors
 * that name the file, the key and its line.
 */
export class Extractor {
  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  fail(table: string | undefined, key: string, problem: string): DdmwError {
    const name = table === undefined ? key : `${table}.${key}`;
    return configError(this.source, findKeyLine(this.text, table, key), `${name} ${problem}`);
  }

  wrongType(table: string | undefined, key: string, want: string, got: ConfigValue): DdmwError {
    return this.fail(table, key, `must be ${want} (found ${typeName(got)})`);
  }

  section(doc: ConfigTable, name: string): ConfigTable | undefined {
    const value = doc[name];
    if (value === undefined) return undefined;
    if (typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
      return value;
    }
    throw this.wrongType(undefined, name, `a table ([${name}])`, value);
  }

  string(
    section: ConfigTable,
    table: string | undefined,
    key: string,
    like = '',
  ): string | undefined {
    const value = section[key];
    if (value === undefined || typeof value === 'string') return value;
    throw this.wrongType(table, key, `a string${like}`, value);
  }

  /** An address, checked now: a malformed one is a `CONFIG` error naming the file and line. */
  address(section: ConfigTable, table: string, key: string): string | undefined {
    const like = ' like "host:port" or a Unix socket path';
    const value = this.string(section, table, key, like);
    if (value === undefined) return undefined;
    try {
      parseProtAddr(value);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw this.fail(table, key, `must be an address${like}: ${why}`);
    }
    return value;
  }

  /**
   * Warnings for top-level keys that belong in section `table` (a
   * forgotten `[auth]` header); the passphrase and token among them are
   * taken out of `doc`, so that a secret never stays in `raw`.
   */
  misplaced(doc: ConfigTable, keys: readonly string[], table: string): string[] {
    const warnings: string[] = [];
    for (const key of keys) {
      if (!(key in doc)) continue;
      const line = findKeyLine(this.text, undefined, key);
      const where = line === undefined ? this.source : `${this.source}:${line}`;
      warnings.push(`${where}: "${key}" is outside [${table}], ignored (move it under [${table}])`);
      if (key === 'pass' || key === 'token') delete doc[key];
    }
    return warnings;
  }

  /**
   * Warnings for the keys of a standard section (or the top level, `table`
   * undefined) that are not among `known`: each names the key, the file,
   * the line and the closest known key. At the top level, where the
   * application keeps its own keys, only a near miss of a known key is
   * reported.
   */
  unknownKeys(section: ConfigTable, table: string | undefined, known: readonly string[]): string[] {
    const warnings: string[] = [];
    for (const key of Object.keys(section)) {
      if (known.includes(key)) continue;
      const closest = closestKey(key, known);
      if (table === undefined && closest === undefined) continue;
      const line = findKeyLine(this.text, table, key);
      const where = line === undefined ? this.source : `${this.source}:${line}`;
      const inTable = table === undefined ? '' : ` in [${table}]`;
      const hint = closest === undefined ? '' : ` (did you mean "${closest}"?)`;
      warnings.push(`${where}: unknown key "${key}"${inTable}, ignored${hint}`);
    }
    return warnings;
  }
}

/** The number of single-character edits between `a` and `b`. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const change = (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      next.push(Math.min(change, (row[j] as number) + 1, (next[j - 1] as number) + 1));
    }
    row = next;
  }
  return row[b.length] as number;
}

/** The known key `key` most likely is a misspelling of (at most 2 edits, or the same without `-`/`_`). */
function closestKey(key: string, known: readonly string[]): string | undefined {
  const bare = (k: string) => k.toLowerCase().replace(/[-_]/g, '');
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = bare(key) === bare(candidate) ? 0 : editDistance(key, candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

/** Parses `"1 minute"`, `"30s"`, `"1m 30s"`, `"500ms"`: number-unit pairs, units required. */
export function durationMs(text: string): number | undefined {
  if (!/^\s*(\d+(\.\d+)?\s*\p{L}+\s*)+$/u.test(text)) return undefined;
  let total = 0;
  // Each pair on its own, so that an unknown unit fails instead of being skipped.
  for (const [pair] of text.matchAll(/\d+(\.\d+)?\s*\p{L}+/gu)) {
    const ms = parseDuration(pair);
    if (ms === null) return undefined;
    total += ms;
  }
  return total;
}
