/**
 * Authentication: the decision logic of the Rust `Auth::authenticate`
 * (token, token file, or account + passphrase, requesting and storing a
 * token when a token file is named but missing), and the `Auth` / `Unauth`
 * commands.
 *
 * Passphrases and tokens never appear in error messages, and telegrams that
 * carry them mark those keys secret so that logging them shows `<redacted>`.
 * Held as a {@link Secret}, they never show in logs of the `Auth` either.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Telegram } from './blather/index.ts';
import type { Connection } from './conn/connection.ts';
import type { RequestOptions } from './conn/limits.ts';
import { sendrecv } from './conn/request.ts';
import { DdmwError } from './err.ts';
import { reveal, Secret } from './secret.ts';

export { Secret };

/**
 * Authentication material, with the field names of the `[auth]` table of
 * `ddmwapp.toml` in TypeScript casing. Every field is optional. The
 * passphrase and token may be plain strings or {@link Secret}s (which never
 * show in logs); `conf.load` gives them as Secrets.
 */
export interface Auth {
  /** Account name. */
  name?: string;
  /** Passphrase (used with `name`). */
  pass?: string | Secret;
  /** File whose first line is the passphrase. */
  passFile?: string;
  /** Authentication token (tried first). */
  token?: string | Secret;
  /**
   * File holding a token. If it does not exist, a token is requested with
   * `name` + passphrase and stored there (mode 0600).
   */
  tokenFile?: string;
}

/** A secret given directly, or the path of a file whose first line holds it. */
export type CredStore =
  | string
  | Secret
  | {
      /** Path of the file whose first line holds the secret. */
      file: string;
    };

/** Reads the first line of a file, without its line ending (Rust `read_single_line`). */
async function readFirstLine(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    throw new DdmwError(
      'INVALID_CREDENTIALS',
      `Unable to read ${what} from file ${path} (${code})`,
      {
        cause: err,
      },
    );
  }
  const line = (text.split('\n', 1)[0] ?? '').trimEnd();
  if (line.length === 0) {
    throw new DdmwError('INVALID_CREDENTIALS', `The ${what} file ${path} is empty`);
  }
  return line;
}

function credential(store: CredStore, what: string): Promise<string> {
  return typeof store === 'string' || store instanceof Secret
    ? Promise.resolve(reveal(store))
    : readFirstLine(store.file, what);
}

/** True when a passphrase is configured (`pass` or `passFile`); the file is not checked. */
export function havePass(auth: Auth): boolean {
  return auth.pass !== undefined || auth.passFile !== undefined;
}

/**
 * The passphrase: `pass`, else the first line of `passFile`.
 * `INVALID_CREDENTIALS` when neither is set or the file cannot be read.
 */
export async function getPass(auth: Auth): Promise<string> {
  if (auth.pass !== undefined) return reveal(auth.pass);
  if (auth.passFile !== undefined) return readFirstLine(auth.passFile, 'passphrase');
  throw new DdmwError('INVALID_CREDENTIALS', 'Missing passphrase: set pass or passFile');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return false;
    throw new DdmwError('INVALID_CREDENTIALS', `Unable to read token from file ${path}`, {
      cause: err,
    });
  }
}

/**
 * The token to log in with, in the Rust order: `token`; else the first
 * line of an existing `tokenFile`; else `undefined`, which means "log in with
 * account + passphrase" (and, when `tokenFile` is named, request a token and
 * store it there). A missing token file without the means to request a new
 * token is `INVALID_CREDENTIALS`.
 */
export async function getToken(auth: Auth): Promise<string | undefined> {
  if (auth.token !== undefined) return reveal(auth.token);
  if (auth.tokenFile === undefined) return undefined;
  if (await exists(auth.tokenFile)) return readFirstLine(auth.tokenFile, 'token');
  if (auth.name === undefined) {
    throw new DdmwError(
      'INVALID_CREDENTIALS',
      `Token file ${auth.tokenFile} does not exist and no account name is set to request a token`,
    );
  }
  if (!havePass(auth)) {
    throw new DdmwError(
      'INVALID_CREDENTIALS',
      `Missing passphrase for token request: token file ${auth.tokenFile} does not exist; set pass or passFile`,
    );
  }
  return undefined;
}

/** Writes a token file atomically (temporary file + rename), readable by its owner only. */
async function storeToken(path: string, tkn: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, tkn, { mode: 0o600, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new DdmwError('IO', `Unable to store the new token in ${path}`, { cause: err });
  }
}

/**
 * Logs in with a token (`Auth` with `Tkn`). A refused token is a
 * `SERVER_ERROR`. `options`: time limit and signal (see {@link RequestOptions}).
 */
export async function token(
  conn: Connection,
  tkn: CredStore,
  options?: RequestOptions,
): Promise<void> {
  const tg = new Telegram('Auth', { Tkn: await credential(tkn, 'token') });
  tg.params.markSecret('Tkn');
  await sendrecv(conn, tg, options);
}

/**
 * Logs in with account name and passphrase. With `reqTkn` the server is
 * asked for a token, which is returned (or `undefined` if it sent none).
 * `options`: time limit and signal (see {@link RequestOptions}).
 */
export async function accpass(
  conn: Connection,
  name: string,
  pass: CredStore,
  reqTkn = false,
  options?: RequestOptions,
): Promise<string | undefined> {
  const tg = new Telegram('Auth', { AccName: name, Pass: await credential(pass, 'passphrase') });
  tg.params.markSecret('Pass');
  if (reqTkn) tg.params.setBool('ReqTkn', true);
  const reply = await sendrecv(conn, tg, options);
  reply.markSecret('Tkn');
  return reqTkn ? reply.get('Tkn') : undefined;
}

/**
 * Authenticates `conn` with `auth` following the Rust decision order (see
 * {@link getToken}). Returns the new token when one was requested and
 * stored in `tokenFile`, else `undefined`. There is no fallback from a
 * refused token to the passphrase, as in the Rust client. `options` apply
 * to the one `Auth` request sent (see {@link RequestOptions}).
 */
export async function authenticate(
  conn: Connection,
  auth: Auth,
  options?: RequestOptions,
): Promise<string | undefined> {
  const tkn = await getToken(auth);
  if (tkn !== undefined) {
    await token(conn, tkn, options);
    return undefined;
  }
  if (auth.name === undefined) {
    throw new DdmwError(
      'INVALID_CREDENTIALS',
      'Missing credentials: set token, tokenFile, or name with pass/passFile',
    );
  }
  const pass = await getPass(auth);
  const newTkn = await accpass(conn, auth.name, pass, auth.tokenFile !== undefined, options);
  if (newTkn === undefined || auth.tokenFile === undefined) return undefined;
  await storeToken(auth.tokenFile, newTkn);
  return newTkn;
}

/** What {@link authenticateRefreshing} did. */
export interface AuthOutcome {
  /** A new token was requested and stored in `auth.tokenFile`. */
  stored: boolean;
  /** It was stored because the token in the file was refused (a stale token). */
  replacedStale: boolean;
}

/**
 * {@link authenticate}, but a refused token from `auth.tokenFile` is not the
 * end when a name and passphrase are at hand: it logs in with them,
 * requests a new token and replaces the file (a node that was reset, or
 * that expired the token, forgets it). With `renew`, a new token is
 * requested and stored whenever a name and passphrase are at hand, without
 * trying the one in the file. A token given directly (`auth.token`) is
 * never replaced.
 */
export async function authenticateRefreshing(
  conn: Connection,
  auth: Auth,
  options: RequestOptions & { renew?: boolean } = {},
): Promise<AuthOutcome> {
  const { renew = false, ...request } = options;
  const canRenew =
    auth.token === undefined &&
    auth.tokenFile !== undefined &&
    auth.name !== undefined &&
    havePass(auth);
  if (renew && canRenew) {
    await renewToken(conn, auth, request);
    return { stored: true, replacedStale: false };
  }
  // Only a token read from the file can be stale; any other refusal stands (no second login).
  const fromFile = canRenew ? await getToken(auth) : undefined;
  if (fromFile === undefined) {
    const stored = await authenticate(conn, auth, request);
    return { stored: stored !== undefined, replacedStale: false };
  }
  try {
    await token(conn, fromFile, request);
    return { stored: false, replacedStale: false };
  } catch (err) {
    if (!(err instanceof DdmwError && err.code === 'SERVER_ERROR')) throw err;
    await renewToken(conn, auth, request);
    return { stored: true, replacedStale: true };
  }
}

/** Logs in with name and passphrase, requests a token and stores it in `auth.tokenFile`. */
async function renewToken(conn: Connection, auth: Auth, options: RequestOptions): Promise<void> {
  const newTkn = await accpass(conn, auth.name as string, await getPass(auth), true, options);
  if (newTkn === undefined) {
    throw new DdmwError('MISSING_DATA', 'The node accepted the login but sent no token (Tkn)');
  }
  await storeToken(auth.tokenFile as string, newTkn);
}

/**
 * Returns the connection to the built-in unauthenticated account (`Unauth`).
 * `options`: time limit and signal (see {@link RequestOptions}).
 */
export async function unauthenticate(conn: Connection, options?: RequestOptions): Promise<void> {
  await sendrecv(conn, new Telegram('Unauth'), options);
}
