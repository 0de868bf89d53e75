/**
 * The simulator's state file: the accounts (with scrypt hashes, never plain
 * passphrases) kept across restarts. It is JSON, written atomically (a
 * temporary file `<file>.<pid>.<12 hex>.tmp` with mode 0600 in the same
 * folder, then renamed) after every change. A temporary file left by a
 * killed simulator (its pid gone) is removed at the next start. Tokens are
 * not kept.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { validateValue } from '../../blather/index.ts';
import { DdmwError } from '../../err.ts';
import { escapeRegExp, removeLeftovers } from '../leftovers.ts';
import { CommandFailed } from '../node/command-failed.ts';
import type { Logger } from '../node/session.ts';
import {
  AccountStore,
  type Credential,
  type SimAccount,
  type StoredAccount,
  UNAUTHENTICATED,
} from './accounts.ts';
import { canonicalPermission } from './permissions.ts';

/** Identifies the file format. */
const FORMAT = 'ddmw-sim-accounts';
const VERSION = 1;

/** One account as written to the file. */
interface FileAccount {
  id: number;
  name: string;
  userName?: string;
  lock: boolean;
  perms: string[];
  scrypt: { salt: string; hash: string };
}

function corrupt(file: string, why: string): DdmwError {
  return new DdmwError('BAD_INPUT', `Simulator state file ${file} is corrupt: ${why}`);
}

function isWireText(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    validateValue('text', value);
    return true;
  } catch {
    return false;
  }
}

function hexBuffer(value: unknown, bytes: number): Buffer | undefined {
  return typeof value === 'string' && new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(value)
    ? Buffer.from(value, 'hex')
    : undefined;
}

/**
 * The canonical forms of an account's permissions from the file, without
 * duplicates, sorted. One that is not valid (a file written before the
 * simulator checked them) is dropped, and `warn` is told why.
 */
function filePermissions(perms: string[], warn: (why: string) => void): string[] {
  const kept = new Set<string>();
  for (const perm of perms) {
    try {
      kept.add(canonicalPermission(perm));
    } catch (err) {
      if (!(err instanceof CommandFailed)) throw err;
      warn(err.message);
    }
  }
  return [...kept].sort();
}

/**
 * Checks one account of the file; returns what is wrong, or the account.
 * A permission that is not valid is dropped, not wrong: `warn` is told.
 */
function parseAccount(raw: unknown, warn: (why: string) => void): StoredAccount | string {
  if (typeof raw !== 'object' || raw === null) return 'not an object';
  const a = raw as Partial<Record<keyof FileAccount, unknown>>;
  if (!(Number.isSafeInteger(a.id) && (a.id as number) > 0)) return 'id is not a positive integer';
  if (!isWireText(a.name) || a.name.length === 0) return 'name is missing or not valid text';
  if (a.name === UNAUTHENTICATED.name) return `name "${a.name}" is reserved`;
  if (a.userName !== undefined && !isWireText(a.userName)) return 'userName is not valid text';
  if (typeof a.lock !== 'boolean') return 'lock is not true or false';
  if (!Array.isArray(a.perms) || !a.perms.every(isWireText)) {
    return 'perms is not a list of permission names';
  }
  const scrypt = (a.scrypt ?? {}) as { salt?: unknown; hash?: unknown };
  const salt = hexBuffer(scrypt.salt, 16);
  const hash = hexBuffer(scrypt.hash, 32);
  if (!salt || !hash) return 'scrypt salt or hash is missing or malformed';
  const credential: Credential = { salt, hash };
  const name = a.name;
  return {
    id: a.id as number,
    name,
    userName: a.userName,
    lock: a.lock,
    perms: filePermissions(a.perms, (why) => warn(`account "${name}": ${why}; dropped`)),
    credential,
  };
}

/**
 * Reads and checks the state file; `undefined` when it does not exist.
 * Permissions that are not valid are dropped, each with a log line.
 */
async function load(file: string, log: Logger | undefined): Promise<StoredAccount[] | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DdmwError('IO', `Cannot read simulator state file ${file}: ${String(err)}`, {
      cause: err,
    });
  }
  let data: { format?: unknown; version?: unknown; accounts?: unknown };
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw corrupt(file, `not JSON (${(err as Error).message})`);
  }
  if (typeof data !== 'object' || data === null || data.format !== FORMAT) {
    throw corrupt(file, `not a ${FORMAT} file`);
  }
  if (data.version !== VERSION) throw corrupt(file, `unsupported version ${String(data.version)}`);
  if (!Array.isArray(data.accounts)) throw corrupt(file, 'accounts is not a list');
  const ids = new Set<number>();
  const names = new Set<string>();
  return data.accounts.map((raw, index) => {
    const account = parseAccount(raw, (why) => log?.(`state file ${file}: ${why}`));
    if (typeof account === 'string') throw corrupt(file, `account #${index + 1}: ${account}`);
    if (ids.has(account.id)) throw corrupt(file, `account id ${account.id} appears twice`);
    if (names.has(account.name)) throw corrupt(file, `account "${account.name}" appears twice`);
    ids.add(account.id);
    names.add(account.name);
    return account;
  });
}

/** Random bytes in the name of a temporary file, after the pid. */
const TEMP_RANDOM_BYTES = 6;

/** Removes the temporary files of `file` that simulators left when they were killed mid-write. */
async function removeStaleTemps(file: string, log: Logger | undefined): Promise<void> {
  const pattern = new RegExp(
    `^${escapeRegExp(basename(file))}\\.([0-9]{1,10})\\.[0-9a-f]{${TEMP_RANDOM_BYTES * 2}}\\.tmp$`,
  );
  for (const path of await removeLeftovers({ dir: dirname(file), pattern, type: 'file' })) {
    log?.(`removed a temporary state file of a simulator that is gone: ${path}`);
  }
}

/** Writes `accounts` to `file` atomically, with mode 0600. */
async function write(file: string, accounts: StoredAccount[]): Promise<void> {
  const body: FileAccount[] = accounts.map(({ credential, userName, ...rest }) => ({
    ...rest,
    ...(userName === undefined ? {} : { userName }),
    scrypt: { salt: credential.salt.toString('hex'), hash: credential.hash.toString('hex') },
  }));
  const text = `${JSON.stringify({ format: FORMAT, version: VERSION, accounts: body }, null, 2)}\n`;
  const temp = `${file}.${process.pid}.${randomBytes(TEMP_RANDOM_BYTES).toString('hex')}.tmp`;
  try {
    await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw new DdmwError('IO', `Cannot write simulator state file ${file}: ${String(err)}`, {
      cause: err,
    });
  }
}

/**
 * The account store of a simulator. Without `stateFile`, built from
 * `specs`. With it: an existing file is loaded and is authoritative
 * (`specs` are ignored); otherwise the store is built from `specs` and the
 * file written. Every later change is written, one write at a time.
 * Throws `BAD_INPUT` for bad specs or a corrupt file, `IO` when the file
 * cannot be read or written.
 */
export async function openAccountStore(
  specs: readonly SimAccount[],
  stateFile: string | undefined,
  log: Logger | undefined,
): Promise<AccountStore> {
  if (stateFile === undefined) return AccountStore.create(specs);
  if (typeof stateFile !== 'string' || stateFile.length === 0) {
    throw new DdmwError('BAD_INPUT', 'Simulator option stateFile must be a non-empty path');
  }
  await removeStaleTemps(stateFile, log);
  const saved = await load(stateFile, log);
  const store = saved ? await AccountStore.restore(saved) : await AccountStore.create(specs);
  let writing: Promise<void> = Promise.resolve();
  store.persistWith((accounts) => {
    const next = writing.catch(() => {}).then(() => write(stateFile, accounts));
    writing = next;
    return next;
  });
  if (!saved) await store.save();
  return store;
}
