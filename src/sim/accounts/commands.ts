/**
 * Account management on the management interfaces: `RdAcc`, `LsAcc`,
 * `WrAcc` and `RmAcc` (ddmw-client-reference.md §5). Reading one's own
 * account needs a login; everything else needs {@link PERM_READ} or
 * {@link PERM_WRITE} (or `*`).
 */
import { Params, type Telegram } from '../../blather/index.ts';
import { isDdmwError } from '../../err.ts';
import { CommandFailed, type CommandHandler, type Session } from '../node/session.ts';
import { type Account, type AccountStore, UNAUTHENTICATED } from './accounts.ts';
import { canonicalPermissions } from './permissions.ts';

/** Permission to read other accounts (`RdAcc` with a target) and to list them (`LsAcc`). */
export const PERM_READ = 'accounts.read';
/** Permission to change (`WrAcc`) and remove (`RmAcc`) accounts. */
export const PERM_WRITE = 'accounts.write';

/** A locked (or removed) account has no rights, also on connections logged in before. */
function mayDo(account: Account, perm: string): boolean {
  return !account.lock && (account.perms.has('*') || account.perms.has(perm));
}

function requireLogin(session: Session, command: string): Account {
  const account = session.account;
  if (account.id === UNAUTHENTICATED.id) {
    throw new CommandFailed(`${command} needs a logged-in account: authenticate first`);
  }
  return account;
}

function requirePerm(session: Session, command: string, perm: string): Account {
  const account = requireLogin(session, command);
  if (!mayDo(account, perm)) {
    const locked = account.lock ? ' (the account is locked or removed)' : '';
    throw new CommandFailed(`Permission denied: ${command} needs the permission ${perm}${locked}`);
  }
  return account;
}

/** The target account named by `Id` or `Name`; `Fail` when missing, ambiguous, built-in or unknown. */
function target(accounts: AccountStore, request: Telegram, command: string): Account {
  const params = request.params;
  const hasId = params.has('Id');
  const hasName = params.has('Name');
  if (hasId === hasName) throw new CommandFailed(`${command} needs either Id or Name`);
  const id = hasId ? params.getInt('Id') : undefined;
  const name = hasName ? params.getStr('Name') : undefined;
  if (id === UNAUTHENTICATED.id || name === UNAUTHENTICATED.name) {
    throw new CommandFailed(`${command}: the built-in unauthenticated account cannot be a target`);
  }
  const account = id === undefined ? accounts.byName(name as string) : accounts.byId(id);
  if (!account) {
    throw new CommandFailed(
      id === undefined ? `No account named "${name}"` : `No account with Id ${id}`,
    );
  }
  return account;
}

/** Writes the store after a change; a failed write is reported to the client. */
async function save(accounts: AccountStore): Promise<Params> {
  try {
    await accounts.save();
  } catch (err) {
    if (!isDdmwError(err, 'IO')) throw err;
    throw new CommandFailed(`The change was made but not saved: ${err.message}`);
  }
  return new Params();
}

/** `RdAcc`: `Id`, `Name`, `Lock`, `Perms` (and `UserName` when set) of one account. */
function rdAcc(accounts: AccountStore, session: Session, request: Telegram): Params {
  const own = !request.params.has('Id') && !request.params.has('Name');
  const caller = requireLogin(session, 'RdAcc');
  let account = caller;
  if (!own) {
    // Without the permission only the caller's own account may be named; an unknown one is denied too.
    const mayRead = mayDo(caller, PERM_READ);
    let found: Account | undefined;
    try {
      found = target(accounts, request, 'RdAcc');
    } catch (err) {
      if (mayRead) throw err;
    }
    if (found !== caller) requirePerm(session, 'RdAcc', PERM_READ);
    account = found as Account;
  }
  const reply = new Params()
    .set('Id', account.id)
    .set('Name', account.name)
    .setBool('Lock', account.lock)
    .setList('Perms', [...account.perms].sort());
  if (account.userName !== undefined) reply.set('UserName', account.userName);
  return reply;
}

/** `LsAcc`: `#` and `<i>.Id`, `<i>.Name` of each account, locked ones only with `All`. */
function lsAcc(accounts: AccountStore, session: Session, request: Telegram): Params {
  requirePerm(session, 'LsAcc', PERM_READ);
  const all = request.params.getBoolDef('All', false);
  const listed = accounts.list().filter((account) => all || !account.lock);
  const reply = new Params().set('#', listed.length);
  listed.forEach((account, i) => {
    reply.set(`${i}.Id`, account.id).set(`${i}.Name`, account.name);
  });
  return reply;
}

/** The permissions of a list parameter, in canonical form; `Fail` quoting one that is not valid. */
function permList(params: Params, key: string): Set<string> {
  try {
    return canonicalPermissions(params.getStrList(key));
  } catch (err) {
    if (err instanceof CommandFailed) throw new CommandFailed(`WrAcc ${key}: ${err.message}`);
    throw err;
  }
}

/** The permission change of a `WrAcc`, checked. */
function permChange(params: Params): ((perms: Set<string>) => void) | undefined {
  const set = params.has('Perms');
  const grant = permList(params, 'Grant');
  const revoke = permList(params, 'Revoke');
  if (set && (params.has('Grant') || params.has('Revoke'))) {
    throw new CommandFailed('WrAcc takes either Perms, or Grant and/or Revoke, not both');
  }
  const both = [...grant].filter((perm) => revoke.has(perm));
  if (both.length > 0) {
    throw new CommandFailed(`WrAcc: ${both.join(', ')} both granted and revoked`);
  }
  if (set) {
    const replacement = permList(params, 'Perms');
    return (perms) => {
      perms.clear();
      for (const perm of replacement) perms.add(perm);
    };
  }
  if (grant.size === 0 && revoke.size === 0) return undefined;
  return (perms) => {
    for (const perm of revoke) perms.delete(perm);
    for (const perm of grant) perms.add(perm);
  };
}

/** `WrAcc`: every change is checked before any is made. */
function wrAcc(accounts: AccountStore, session: Session, request: Telegram): Promise<Params> {
  const caller = requirePerm(session, 'WrAcc', PERM_WRITE);
  const account = target(accounts, request, 'WrAcc');
  const params = request.params;
  const newName = params.get('NewName');
  const userName = params.get('UserName');
  const lock = params.has('Lock') ? params.getBool('Lock') : undefined;
  const perms = permChange(params);
  if (newName === undefined && userName === undefined && lock === undefined && !perms) {
    throw new CommandFailed(
      'WrAcc needs at least one of NewName, UserName, Lock, Perms, Grant, Revoke',
    );
  }
  if (newName !== undefined) {
    if (newName.length === 0) throw new CommandFailed('WrAcc: NewName is empty');
    if (newName === UNAUTHENTICATED.name) {
      throw new CommandFailed(`WrAcc: the name "${newName}" is reserved for the built-in account`);
    }
    const other = accounts.byName(newName);
    if (other && other !== account) {
      throw new CommandFailed(`WrAcc: the name "${newName}" is used by another account`);
    }
  }
  if (lock === true && account === caller) {
    throw new CommandFailed('WrAcc: an account cannot lock itself');
  }
  if (newName !== undefined) accounts.rename(account, newName);
  if (userName !== undefined) account.userName = userName === '' ? undefined : userName;
  if (lock !== undefined) account.lock = lock;
  perms?.(account.perms);
  // Takes effect before the reply, whether or not the change can be saved.
  if (lock === true) accounts.changed(account, 'the account was locked');
  else if (perms) accounts.changed(account, 'its permissions were changed');
  return save(accounts);
}

/** `RmAcc`: removes an account; an account cannot remove itself. */
function rmAcc(accounts: AccountStore, session: Session, request: Telegram): Promise<Params> {
  const caller = requirePerm(session, 'RmAcc', PERM_WRITE);
  const account = target(accounts, request, 'RmAcc');
  if (account === caller) throw new CommandFailed('RmAcc: an account cannot remove itself');
  accounts.remove(account);
  return save(accounts);
}

/** The account commands of a management interface. */
export function accountCommands(accounts: AccountStore): [string, CommandHandler][] {
  return [
    ['RdAcc', (session, request) => rdAcc(accounts, session, request)],
    ['LsAcc', (session, request) => lsAcc(accounts, session, request)],
    ['WrAcc', (session, request) => wrAcc(accounts, session, request)],
    ['RmAcc', (session, request) => rmAcc(accounts, session, request)],
  ];
}
