/**
 * The keys a `ddmw sim --sim-config` file may hold, in one place: a schema
 * of {@link SimulatorOptions} that the compiler checks against the options
 * (a new option fails the build until it is listed here). The file spells
 * the keys in kebab-case (`rate-bytes-per-sec`); {@link checkKeys} turns a
 * parsed file into options and names the keys it does not know.
 */
import type { SimulatorOptions } from '../sim/index.ts';

/** How one key is read: a value, a table, a list of tables, or a callback no file can give. */
type Shape<V> = V extends (...args: never[]) => unknown
  ? 'callback'
  : V extends readonly (infer E)[]
    ? E extends object
      ? readonly [Schema<E>]
      : 'value'
    : V extends object
      ? Schema<V>
      : 'value';

/** Every key of `T`, each with its {@link Shape}. */
type Schema<T> = { readonly [K in keyof T]-?: Shape<NonNullable<T[K]>> };

/** A table of the schema, as walked at run time. */
interface Table {
  readonly [key: string]: 'value' | 'callback' | Table | readonly [Table];
}

const SCHEMA = {
  host: 'value',
  ports: {
    senderMsgif: 'value',
    senderMgmtif: 'value',
    receiverSubif: 'value',
    receiverMgmtif: 'value',
  },
  unixSocketDir: 'value',
  accounts: [{ name: 'value', pass: 'value', perms: 'value', lock: 'value', userName: 'value' }],
  stateFile: 'value',
  version: 'value',
  log: 'callback',
  link: {
    transport: 'value',
    rateBytesPerSec: 'value',
    datagramSize: 'value',
    redundancy: 'value',
    heartbeatMs: 'value',
    heartbeatMisses: 'value',
    maxTransferBytes: 'value',
    faults: {
      seed: 'value',
      loss: 'value',
      burst: { enter: 'value', leave: 'value', loss: 'value' },
      startLoss: 'value',
      endLoss: 'value',
      corrupt: 'value',
      duplicate: 'value',
      reorder: 'value',
      down: [{ atMs: 'value', forMs: 'value' }],
    },
    fault: 'callback',
  },
  queueLimit: 'value',
  queueLimitBytes: 'value',
  push: [{ ch: 'value', addr: 'value' }],
  pushReconnectDelayMs: 'value',
  limits: {
    maxConnections: 'value',
    loginTimeoutMs: 'value',
    stallTimeoutMs: 'value',
    passwordChecks: 'value',
    passwordQueue: 'value',
    authFailDelayMs: 'value',
    authFailDelayMaxMs: 'value',
    maxMessageBytes: 'value',
    spoolMinFreeBytes: 'value',
  },
} as const satisfies Schema<SimulatorOptions>;

/** `rateBytesPerSec` -> `rate-bytes-per-sec`. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `rate-bytes-per-sec` -> `rateBytesPerSec`. */
function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Every key a file may hold, tables and lists included, as `link.faults.down[].at-ms`. */
function knownKeys(table: Table, prefix = ''): string[] {
  return Object.entries(table).flatMap(([name, shape]) => {
    if (shape === 'callback') return [];
    const path = `${prefix}${kebab(name)}`;
    if (shape === 'value') return [path];
    if (Array.isArray(shape)) return [path, ...knownKeys(shape[0], `${path}[].`)];
    return [path, ...knownKeys(shape as Table, `${path}.`)];
  });
}

/** The keys of the file format, for suggestions and the docs. */
export const KNOWN_KEYS: readonly string[] = knownKeys(SCHEMA);

/** Edit distance between two strings (insertions, deletions, substitutions). */
function levenshtein(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost));
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

/** The known key nearest to `path` (list indices as in `path`). */
export function closestKey(path: string): string {
  const plain = path.replace(/\[\d+\]/g, '[]');
  let best = KNOWN_KEYS[0] ?? '';
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const key of KNOWN_KEYS) {
    const distance = levenshtein(plain, key);
    if (distance < bestDistance) [best, bestDistance] = [key, distance];
  }
  const indices = path.match(/\[\d+\]/g) ?? [];
  return best.replace(/\[\]/g, () => indices.shift() ?? '[]');
}

/** A key of the file that no option has. */
export interface UnknownKey {
  /** Its path, as written: `link.heartbeat`, `link.faults.down[0].at`. */
  key: string;
  /** The nearest known key. */
  closest: string;
}

const isTable = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** Copies the known keys of `doc` under their option names; collects the others in `unknown`. */
function walk(
  doc: Record<string, unknown>,
  table: Table,
  prefix: string,
  unknown: UnknownKey[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    const name = camel(key);
    const shape = Object.hasOwn(table, name) ? table[name] : undefined;
    const path = `${prefix}${key}`;
    if (shape === undefined || shape === 'callback') {
      unknown.push({ key: path, closest: closestKey(path) });
    } else if (Array.isArray(shape) && Array.isArray(value)) {
      out[name] = value.map((item, i) =>
        isTable(item) ? walk(item, shape[0], `${path}[${i}].`, unknown) : item,
      );
    } else if (typeof shape === 'object' && !Array.isArray(shape) && isTable(value)) {
      out[name] = walk(value, shape as Table, `${path}.`, unknown);
    } else {
      // A value where a table belongs (or the reverse) is left for the simulator's checks.
      out[name] = value;
    }
  }
  return out;
}

/**
 * The options a parsed file gives, its keys camelized, and the keys no
 * option has (left out). Values are not checked: `startSimulator` does that.
 */
export function checkKeys(doc: Record<string, unknown>): {
  options: SimulatorOptions;
  unknown: UnknownKey[];
} {
  const unknown: UnknownKey[] = [];
  const options = walk(doc, SCHEMA, '', unknown) as SimulatorOptions;
  return { options, unknown };
}
