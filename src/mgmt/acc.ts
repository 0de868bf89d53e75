/**
 * Account management (`mgmt::acc` of the Rust client): read, list, change
 * and remove accounts on a node's management interface. The server decides
 * who may do what; a refusal is a `SERVER_ERROR` and leaves the connection
 * usable. Every function takes a last `options` argument: a time limit
 * and an `AbortSignal` (see `RequestOptions`).
 *
 * @module
 */
import { type Params, Telegram, validateValue } from '../blather/index.ts';
import type { Connection } from '../conn/connection.ts';
import type { RequestOptions } from '../conn/limits.ts';
import { sendrecv } from '../conn/request.ts';
import { DdmwError } from '../err.ts';
import type { ObjRef } from '../types.ts';

/** An account as `RdAcc` reports it. */
export interface Account {
  /** Numeric account id. */
  id: number;
  /** Account name. */
  name: string;
  /** True when the account may not log in. */
  lock: boolean;
  /** Permission names. */
  perms: Set<string>;
  /** Real name of the account's owner, when the server reports one (`UserName`; the Rust client does not read it). */
  userName?: string;
}

/** One entry of the account list (`LsAcc`). */
export interface LsEntry {
  /** Numeric account id. */
  id: number;
  /** Account name. */
  name: string;
}

/**
 * How {@link wr} changes an account's permissions: `set` replaces them all;
 * `grant` adds and `revoke` removes some (both may be given).
 */
export type ModPerms =
  | {
      /** The complete new set of permissions. */
      set: Iterable<string>;
    }
  | {
      /** Permissions to add. */
      grant?: Iterable<string>;
      /** Permissions to remove. */
      revoke?: Iterable<string>;
    };

/** The changes {@link wr} makes; at least one must be given. */
export interface WrAccount {
  /** New, unique account name (non-empty). */
  newName?: string;
  /** Real name of the account's owner; the empty string clears it. */
  userName?: string;
  /** Lock (`true`) or unlock (`false`) the account. */
  lock?: boolean;
  /** Permission changes. */
  perms?: ModPerms;
}

function badInput(message: string): DdmwError {
  return new DdmwError('BAD_INPUT', message);
}

/** Checks that `value` is a string that can travel as a parameter value. */
function wireText(what: string, value: unknown, allowEmpty: boolean): string {
  if (typeof value !== 'string') throw badInput(`${what} must be a string`);
  if (!allowEmpty && value.length === 0) throw badInput(`${what} must not be empty`);
  try {
    validateValue(what, value);
  } catch (err) {
    throw new DdmwError(
      'BAD_INPUT',
      `${what} cannot contain a line feed, end with a carriage return or hold a lone surrogate`,
      { cause: err },
    );
  }
  return value;
}

/** Adds the target account as `Id` (number) or `Name` (string). */
function setTarget(params: Params, acc: ObjRef): void {
  if (typeof acc === 'number') {
    if (!Number.isSafeInteger(acc)) {
      throw badInput(`Account id must be a safe integer, got ${acc}`);
    }
    params.set('Id', acc);
  } else {
    params.set('Name', wireText('Account name', acc, false));
  }
}

/** Checks permission names: non-empty strings without `,`. */
function permList(what: string, perms: Iterable<string> | undefined): string[] {
  if (perms === undefined) return [];
  if (typeof perms === 'string' || typeof perms[Symbol.iterator] !== 'function') {
    throw badInput(`${what} must be an iterable of permission names (not a single string)`);
  }
  const list = [...new Set(perms)];
  for (const perm of list) {
    wireText(`A permission in ${what}`, perm, false);
    if (perm.includes(',')) throw badInput(`Permission "${perm}" in ${what} contains ','`);
  }
  return list;
}

/** Adds `Perms`, or `Grant` and/or `Revoke`. */
function setPerms(params: Params, perms: ModPerms): void {
  if (typeof perms !== 'object' || perms === null) {
    throw new DdmwError('BAD_PARAMS', 'perms must be { set } or { grant?, revoke? }');
  }
  if ('set' in perms) {
    if ('grant' in perms || 'revoke' in perms) {
      throw new DdmwError(
        'BAD_PARAMS',
        'perms: give either set (replace all) or grant/revoke, not both',
      );
    }
    if (perms.set === undefined) {
      throw new DdmwError('BAD_PARAMS', 'perms.set must list the new permissions (may be empty)');
    }
    params.setList('Perms', permList('perms.set', perms.set));
    return;
  }
  const grant = permList('perms.grant', perms.grant);
  const revoke = permList('perms.revoke', perms.revoke);
  if (grant.length === 0 && revoke.length === 0) {
    throw new DdmwError('BAD_PARAMS', 'perms needs set, or a non-empty grant or revoke');
  }
  const both = grant.filter((perm) => revoke.includes(perm));
  if (both.length > 0) {
    throw new DdmwError('BAD_PARAMS', `perms: ${both.join(', ')} both granted and revoked`);
  }
  if (grant.length > 0) params.setList('Grant', grant);
  if (revoke.length > 0) params.setList('Revoke', revoke);
}

/** The value of a reply key; `MISSING_DATA` naming it when absent. */
function required<T>(reply: Params, key: string, read: (key: string) => T): T {
  if (!reply.has(key)) {
    throw new DdmwError('MISSING_DATA', `Missing data; ${key} not found in the reply`);
  }
  return read(key);
}

/**
 * Reads an account: `acc` is its id (number) or name (string); without it,
 * the account that owns the connection. Throws `BAD_INPUT` for an id that
 * is not a safe integer or an empty name, `SERVER_ERROR` when the server
 * refuses, `MISSING_DATA` when a reply key (`Id`, `Name`, `Lock`, `Perms`)
 * is absent.
 */
export async function rd(
  conn: Connection,
  acc?: ObjRef,
  options?: RequestOptions,
): Promise<Account> {
  const tg = new Telegram('RdAcc');
  if (acc !== undefined) setTarget(tg.params, acc);
  const reply = await sendrecv(conn, tg, options);
  const account: Account = {
    id: required(reply, 'Id', (k) => reply.getInt(k)),
    name: required(reply, 'Name', (k) => reply.getStr(k)),
    lock: required(reply, 'Lock', (k) => reply.getBool(k)),
    perms: required(reply, 'Perms', (k) => reply.getStrSet(k)),
  };
  const userName = reply.get('UserName');
  if (userName !== undefined) account.userName = userName;
  return account;
}

/**
 * Lists the accounts; locked ones only when `inclLocked` is true (sent as
 * `All=True`). Throws `SERVER_ERROR` when the server refuses,
 * `MISSING_DATA` when `#` or an entry's `<i>.Id` / `<i>.Name` is absent.
 */
export async function ls(
  conn: Connection,
  inclLocked = false,
  options?: RequestOptions,
): Promise<LsEntry[]> {
  const tg = new Telegram('LsAcc');
  if (inclLocked) tg.params.setBool('All', true);
  const reply = await sendrecv(conn, tg, options);
  const count = required(reply, '#', (k) => reply.getInt(k, { min: 0, max: 2 ** 31 }));
  const entries: LsEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({
      id: required(reply, `${i}.Id`, (k) => reply.getInt(k)),
      name: required(reply, `${i}.Name`, (k) => reply.getStr(k)),
    });
  }
  return entries;
}

/**
 * Changes an account (`acc`: id or name). Throws `BAD_PARAMS` when nothing
 * is to change or `perms` mixes `set` with `grant`/`revoke`, `BAD_INPUT`
 * for an empty name, a bad id, or a value that cannot be sent, and
 * `SERVER_ERROR` when the server refuses.
 */
export async function wr(
  conn: Connection,
  acc: ObjRef,
  ai: WrAccount,
  options?: RequestOptions,
): Promise<void> {
  const tg = new Telegram('WrAcc');
  setTarget(tg.params, acc);
  if (ai.newName !== undefined) tg.params.set('NewName', wireText('newName', ai.newName, false));
  if (ai.userName !== undefined) {
    tg.params.set('UserName', wireText('userName', ai.userName, true));
  }
  if (ai.lock !== undefined) {
    if (typeof ai.lock !== 'boolean') throw badInput('lock must be true or false');
    tg.params.setBool('Lock', ai.lock);
  }
  if (ai.perms !== undefined) setPerms(tg.params, ai.perms);
  if (tg.params.size === 1) {
    throw new DdmwError(
      'BAD_PARAMS',
      'wr: nothing to change; give newName, userName, lock or perms',
    );
  }
  await sendrecv(conn, tg, options);
}

/**
 * Removes an account (`acc`: id or name). Throws `BAD_INPUT` for a bad id
 * or an empty name, `SERVER_ERROR` when the server refuses.
 */
export async function rm(conn: Connection, acc: ObjRef, options?: RequestOptions): Promise<void> {
  const tg = new Telegram('RmAcc');
  setTarget(tg.params, acc);
  await sendrecv(conn, tg, options);
}
