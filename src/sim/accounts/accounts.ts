/**
 * The simulator's account store: accounts with scrypt-hashed passphrases,
 * and the login tokens handed out by `Auth` with `ReqTkn`. One store is
 * shared by every node and interface of a simulator.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { validateValue } from '../../blather/index.ts';
import { DdmwError } from '../../err.ts';
import { CommandFailed } from '../node/command-failed.ts';
import { canonicalPermissions } from './permissions.ts';

/** An account as the simulator's options describe it. */
export interface SimAccount {
  /** Unique account name (the `AccName` of `Auth`). */
  name: string;
  /** Passphrase. Only a salted scrypt hash of it is kept. */
  pass: string;
  /**
   * Permission names; `*` grants every permission. Channel permissions are
   * kept in canonical form (`send:042` becomes `send:42`). Default: none.
   */
  perms?: string[];
  /** A locked account cannot log in. Default `false`. */
  lock?: boolean;
  /** The real name of the account's owner. */
  userName?: string;
}

/**
 * An account of the store. Commands may change `name`, `userName`, `lock`
 * and `perms` in place; sessions hold the object, so they see the change.
 */
export interface Account {
  /** Numeric id: 0 for the built-in unauthenticated account, 1, 2, ... for real ones. */
  readonly id: number;
  /** Unique account name. */
  name: string;
  /** The real name of the account's owner, if known. */
  userName: string | undefined;
  /** True when the account may not log in. */
  lock: boolean;
  /** Permission names; `*` grants every permission. */
  perms: Set<string>;
}

/**
 * The built-in account every connection starts with, and returns to after
 * `Unauth`. It has no permissions and cannot log in.
 */
export const UNAUTHENTICATED: Readonly<Account> = Object.freeze({
  id: 0,
  name: 'unauthenticated',
  userName: undefined,
  lock: false,
  perms: new Set<string>(),
});

/** Outcome of a passphrase or token check. */
export type LoginResult =
  | { ok: true; account: Account }
  | { ok: false; reason: 'bad-credentials' | 'locked' };

/** Cost parameter N of scrypt (2^14, the usual interactive-login setting). */
const SCRYPT_COST = 16384;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Token size: 128 random bits, sent as 32 hex characters. */
const TOKEN_BYTES = 16;

/** A salted scrypt hash of a passphrase. */
export interface Credential {
  salt: Buffer;
  hash: Buffer;
}

/** An account with its credential, as the state file keeps it (no plain passphrase). */
export interface StoredAccount {
  id: number;
  name: string;
  userName: string | undefined;
  lock: boolean;
  perms: string[];
  credential: Credential;
}

/** Writes a snapshot of the accounts somewhere (the state file). */
export type AccountSaver = (accounts: StoredAccount[]) => Promise<void>;

/**
 * Told after a change that may take rights away from `account` (locked,
 * permissions changed, removed); `why` says which, for reasons and logs.
 */
export type AccountChangeListener = (account: Account, why: string) => void;

function hashPass(pass: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(pass, salt, HASH_BYTES, { N: SCRYPT_COST }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Tokens are stored as their SHA-256 digest, so the store never holds a usable token. */
function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function badAccount(index: number, why: string): DdmwError {
  return new DdmwError('BAD_INPUT', `Simulator account #${index + 1}: ${why}`);
}

/** Checks that a text can travel as a parameter value; the text itself is never shown. */
function checkWireText(index: number, what: string, text: unknown): string {
  if (typeof text !== 'string') throw badAccount(index, `${what} must be a string`);
  try {
    validateValue(what, text);
  } catch {
    throw badAccount(
      index,
      `${what} cannot contain a line feed, end with a carriage return or hold a lone surrogate`,
    );
  }
  return text;
}

function checkAccount(spec: SimAccount, index: number): void {
  const name = checkWireText(index, 'name', spec.name);
  if (name.length === 0) throw badAccount(index, 'the name is empty');
  if (name === UNAUTHENTICATED.name) {
    throw badAccount(index, `the name "${name}" is reserved for the built-in account`);
  }
  checkWireText(index, 'pass', spec.pass);
  if (spec.userName !== undefined) checkWireText(index, 'userName', spec.userName);
  for (const perm of spec.perms ?? []) checkWireText(index, 'a permission', perm);
}

/** The canonical permissions of an account option; `BAD_INPUT` naming the account for a bad one. */
function specPermissions(spec: SimAccount, index: number): Set<string> {
  try {
    return canonicalPermissions(spec.perms ?? []);
  } catch (err) {
    if (err instanceof CommandFailed) throw badAccount(index, err.message);
    throw err;
  }
}

/** Accounts and tokens of one simulator. */
export class AccountStore {
  readonly #byName = new Map<string, Account>();
  readonly #byId = new Map<number, Account>();
  readonly #credentials = new Map<number, Credential>();
  /** Token digest to account id. Tokens live as long as the store. */
  readonly #tokens = new Map<string, number>();
  /** Compared against when the account name is unknown, so both cases take the same time. */
  readonly #decoy: Credential;
  #saver: AccountSaver | undefined;
  readonly #listeners = new Set<AccountChangeListener>();

  private constructor(decoy: Credential) {
    this.#decoy = decoy;
  }

  static async #withDecoy(): Promise<AccountStore> {
    const salt = randomBytes(SALT_BYTES);
    const hash = await hashPass(randomBytes(SALT_BYTES).toString('hex'), salt);
    return new AccountStore({ salt, hash });
  }

  #add(account: Account, credential: Credential): void {
    this.#byName.set(account.name, account);
    this.#byId.set(account.id, account);
    this.#credentials.set(account.id, credential);
  }

  /**
   * Builds a store from account options, giving ids 1, 2, ... in order.
   * Throws `BAD_INPUT` for a duplicate or malformed account.
   */
  static async create(specs: readonly SimAccount[]): Promise<AccountStore> {
    const seen = new Set<string>();
    const perms = specs.map((spec, index) => {
      checkAccount(spec, index);
      if (seen.has(spec.name)) {
        throw badAccount(index, `the name "${spec.name}" is used by another account`);
      }
      seen.add(spec.name);
      return specPermissions(spec, index);
    });
    const salts = specs.map(() => randomBytes(SALT_BYTES));
    const [store, hashes] = await Promise.all([
      AccountStore.#withDecoy(),
      Promise.all(specs.map((spec, i) => hashPass(spec.pass, salts[i] as Buffer))),
    ]);
    specs.forEach((spec, i) => {
      const account: Account = {
        id: i + 1,
        name: spec.name,
        userName: spec.userName,
        lock: spec.lock ?? false,
        perms: perms[i] as Set<string>,
      };
      store.#add(account, { salt: salts[i] as Buffer, hash: hashes[i] as Buffer });
    });
    return store;
  }

  /** Builds a store from saved accounts (already checked by the loader), keeping their ids. */
  static async restore(saved: readonly StoredAccount[]): Promise<AccountStore> {
    const store = await AccountStore.#withDecoy();
    for (const { credential, perms, ...rest } of saved) {
      store.#add({ ...rest, perms: new Set(perms) }, credential);
    }
    return store;
  }

  /** Every account, by id, with its credential: what the state file keeps. */
  snapshot(): StoredAccount[] {
    return this.list().map((account) => ({
      id: account.id,
      name: account.name,
      userName: account.userName,
      lock: account.lock,
      perms: [...account.perms].sort(),
      credential: this.#credentials.get(account.id) as Credential,
    }));
  }

  /** Makes {@link save} write every change through `saver`. */
  persistWith(saver: AccountSaver): void {
    this.#saver = saver;
  }

  /** Saves the accounts after a change (a no-op without a state file). */
  async save(): Promise<void> {
    await this.#saver?.(this.snapshot());
  }

  /** Calls `listener` after each change that may take rights away; returns the function that stops it. */
  onChange(listener: AccountChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Tells the listeners that `account` was changed in place in a way that
   * may take rights away (locked, permissions changed); `why` says which.
   */
  changed(account: Account, why: string): void {
    for (const listener of this.#listeners) listener(account, why);
  }

  /** Every account, ordered by id (the built-in unauthenticated one is not in the store). */
  list(): Account[] {
    return [...this.#byId.values()].sort((a, b) => a.id - b.id);
  }

  /** Renames an account; false when another account has the name already. */
  rename(account: Account, newName: string): boolean {
    const other = this.#byName.get(newName);
    if (other && other !== account) return false;
    this.#byName.delete(account.name);
    account.name = newName;
    this.#byName.set(newName, account);
    return true;
  }

  /**
   * Removes an account. Its tokens stop working, and connections still
   * logged in as it lose every permission (their sessions hold the object);
   * the listeners are told.
   */
  remove(account: Account): void {
    this.#byName.delete(account.name);
    this.#byId.delete(account.id);
    this.#credentials.delete(account.id);
    account.perms.clear();
    account.lock = true;
    for (const [digest, id] of this.#tokens) if (id === account.id) this.#tokens.delete(digest);
    this.changed(account, 'the account was removed');
  }

  /** The account with this name, if any. */
  byName(name: string): Account | undefined {
    return this.#byName.get(name);
  }

  /** The account with this id, if any. */
  byId(id: number): Account | undefined {
    return this.#byId.get(id);
  }

  /**
   * Checks a name and passphrase. A wrong name and a wrong passphrase give
   * the same result and take the same time; `locked` is only reported to
   * someone who knows the passphrase.
   */
  async login(name: string, pass: string): Promise<LoginResult> {
    const account = this.#byName.get(name);
    const credential = (account && this.#credentials.get(account.id)) ?? this.#decoy;
    const hash = await hashPass(pass, credential.salt);
    if (!account || !timingSafeEqual(hash, credential.hash)) {
      return { ok: false, reason: 'bad-credentials' };
    }
    return account.lock ? { ok: false, reason: 'locked' } : { ok: true, account };
  }

  /** Checks a token: it must have been issued, and its account must still exist. */
  loginWithToken(token: string): LoginResult {
    const id = this.#tokens.get(tokenDigest(token));
    const account = id === undefined ? undefined : this.#byId.get(id);
    if (!account) return { ok: false, reason: 'bad-credentials' };
    return account.lock ? { ok: false, reason: 'locked' } : { ok: true, account };
  }

  /** Issues a new random token (32 hex characters) for `account`. */
  issueToken(account: Account): string {
    const token = randomBytes(TOKEN_BYTES).toString('hex');
    this.#tokens.set(tokenDigest(token), account.id);
    return token;
  }
}
