/**
 * What every `ddmw` command shares: the configuration file (`--config`, else
 * `$DDMW_APPCONF`, else `./ddmwapp.toml`), flags that override it, output in
 * human or JSON form, and the mapping from errors to exit codes.
 */
import { stat } from 'node:fs/promises';
import { type Auth, authenticateRefreshing, Secret } from '../auth.ts';
import { type Config, load } from '../conf.ts';
import { type Connection, connect } from '../conn/index.ts';
import { DdmwError, type DdmwErrorCode, isDdmwError } from '../err.ts';
import { MsgError } from '../msg/index.ts';
import { type AppChannel, parseAppChannel } from '../types.ts';

/** Global options, shared by every subcommand. */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  name?: string;
  passFile?: string;
  token?: string;
  tokenFile?: string;
  timeout?: string;
}

/** Exit codes of `ddmw` (documented in `ddmw --help`). */
export const EXIT = { ok: 0, refused: 1, usage: 2, connection: 3 } as const;

const USAGE_CODES: DdmwErrorCode[] = [
  'BAD_INPUT',
  'BAD_PARAMS',
  'PARSE',
  'CONFIG',
  'INVALID_CREDENTIALS',
];
const CONNECTION_CODES: DdmwErrorCode[] = [
  'IO',
  'DISCONNECTED',
  'TIMEOUT',
  'ABORTED',
  'BLATHER',
  'BAD_STATE',
  'MISSING_DATA',
];

/** The exit code for an error. */
export function exitCodeOf(err: unknown): number {
  if (!(err instanceof DdmwError)) return EXIT.refused;
  // A message that closed the connection: the node's data was at fault, whatever the cause's code.
  if (err instanceof MsgError && !err.skipped) return EXIT.connection;
  if (USAGE_CODES.includes(err.code)) return EXIT.usage;
  if (CONNECTION_CODES.includes(err.code)) return EXIT.connection;
  return EXIT.refused;
}

/** The loaded configuration and flag overrides of one command run. */
export class Context {
  readonly options: GlobalOptions;
  readonly config: Config | null;
  #warnedToken = false;

  private constructor(options: GlobalOptions, config: Config | null) {
    this.options = options;
    this.config = config;
  }

  static async create(options: GlobalOptions): Promise<Context> {
    const config = await load(options.config).catch((err: unknown) => {
      // A config file that cannot be read (a folder, no permission) is a usage error too.
      if (isDdmwError(err, 'IO')) throw new DdmwError('CONFIG', err.message, { cause: err });
      throw err;
    });
    return new Context(options, config);
  }

  /** Credentials: flags first, then the config's `[auth]`; `undefined` for none. Passphrase and token stay `Secret`s. */
  auth(): Auth | undefined {
    const o = this.options;
    const fromFlags: Auth = {};
    if (o.name !== undefined) fromFlags.name = o.name;
    if (o.passFile !== undefined) fromFlags.passFile = o.passFile;
    if (process.env.DDMW_PASS !== undefined) fromFlags.pass = new Secret(process.env.DDMW_PASS);
    if (process.env.DDMW_TOKEN) fromFlags.token = new Secret(process.env.DDMW_TOKEN);
    if (o.token !== undefined) {
      // Other users of this machine can read a command line (ps): say so once.
      if (!this.#warnedToken) {
        process.stderr.write(
          'ddmw: warning: --token shows in the process list; prefer DDMW_TOKEN or --token-file\n',
        );
        this.#warnedToken = true;
      }
      fromFlags.token = new Secret(o.token);
    }
    if (o.tokenFile !== undefined) fromFlags.tokenFile = o.tokenFile;
    const merged: Auth = { ...this.config?.auth, ...fromFlags };
    return Object.keys(merged).length > 0 ? merged : undefined;
  }

  /** The address for an interface: the flag, else the config key, else a usage error. */
  address(flag: string | undefined, configured: string | undefined, what: string): string {
    const addr = flag ?? configured;
    if (addr === undefined) {
      throw new DdmwError(
        'BAD_PARAMS',
        `No address for the ${what}: pass --addr or set it in ddmwapp.toml`,
      );
    }
    return addr;
  }

  /** The channel: the flag, else the config's `channel`, else a usage error. */
  channel(flag: string | undefined): AppChannel {
    const ch = flag === undefined ? this.config?.getAppCh() : parseAppChannel(flag);
    if (ch === undefined)
      throw new DdmwError('BAD_PARAMS', 'No channel: pass --ch or set channel in ddmwapp.toml');
    return ch;
  }

  /** `--timeout`: the time limit of connecting, authenticating and each request, in milliseconds (default 10 s). */
  timeoutMs(): number {
    const t = this.options.timeout === undefined ? 10_000 : Number(this.options.timeout);
    if (!Number.isFinite(t) || t <= 0)
      throw new DdmwError('BAD_PARAMS', '--timeout must be a positive number of milliseconds');
    return t;
  }

  /**
   * Connects (and authenticates when credentials are configured); `--timeout`
   * limits that, and is the default time limit of each request on the connection.
   */
  async connect(addr: string, withAuth = true): Promise<Connection> {
    const timeoutMs = this.timeoutMs();
    const auth = withAuth ? this.auth() : undefined;
    if (auth) checkCredentials(auth); // before connecting: a usage error, whatever the network does
    const conn = await connect(addr, { timeoutMs, requestTimeoutMs: timeoutMs });
    if (!auth) return conn;
    try {
      await this.authenticate(conn, auth, false);
      return conn;
    } catch (err) {
      await conn.close();
      throw err;
    }
  }

  /**
   * Authenticates `conn`. A stale token in the token file is replaced (a
   * new one requested with the name and passphrase), and that is said on
   * stderr; with `renew`, a new token is requested whenever possible.
   * Returns whether a new token was stored.
   */
  async authenticate(conn: Connection, auth: Auth, renew: boolean): Promise<boolean> {
    checkCredentials(auth);
    for (const file of [auth.passFile, auth.tokenFile]) if (file) await warnIfShared(file);
    const outcome = await authenticateRefreshing(conn, auth, { renew }).catch((err: unknown) => {
      // The node refusing the credentials is a usage error (exit 2), in the CLI's words.
      if (!isDdmwError(err, 'SERVER_ERROR')) throw err;
      const who = auth.name === undefined ? 'the token' : `account ${auth.name}`;
      throw new DdmwError(
        'INVALID_CREDENTIALS',
        `The node refused the credentials of ${who}: ${err.message}`,
        { cause: err },
      );
    });
    if (outcome.replacedStale) {
      process.stderr.write(
        `ddmw: the token in ${auth.tokenFile} was refused; logged in with the passphrase and stored a new token there\n`,
      );
    }
    return outcome.stored;
  }

  /** Prints a result: as JSON with `--json`, else as `human` text. */
  print(value: unknown, human: string): void {
    process.stdout.write(
      this.options.json ? `${JSON.stringify(value, jsonReplacer)}\n` : `${human}\n`,
    );
  }
}

/** Warns when a file holding a secret can be read by other users (it should be mode 0600). */
async function warnIfShared(path: string): Promise<void> {
  const mode = await stat(path).then(
    (st) => st.mode,
    () => undefined, // a missing file is reported where it is read
  );
  if (mode !== undefined && (mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    process.stderr.write(
      `ddmw: warning: ${path} holds a secret but other users can access it (mode ${octal}); chmod 600 it\n`,
    );
  }
}

/** Credentials that cannot work, refused before connecting, in flags (the library speaks in option names). */
function checkCredentials(auth: Auth): void {
  const hasToken = auth.token !== undefined || auth.tokenFile !== undefined;
  const hasPass = auth.pass !== undefined || auth.passFile !== undefined;
  if (!hasToken && auth.name === undefined) {
    throw new DdmwError(
      'INVALID_CREDENTIALS',
      'No account: pass --name (or set name in [auth]), or --token-file / DDMW_TOKEN',
    );
  }
  if (!hasToken && !hasPass) {
    throw new DdmwError(
      'INVALID_CREDENTIALS',
      `No passphrase for account ${auth.name}: set DDMW_PASS or --pass-file (or pass-file in [auth])`,
    );
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Set) return [...value];
  if (typeof value === 'bigint') return value.toString();
  return value;
}
