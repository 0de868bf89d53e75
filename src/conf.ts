/**
 * The standard DDMW application configuration file, `ddmwapp.toml`
 * (ddmw-client-reference.md §3.3, §6).
 *
 * {@link load} finds and parses the file; {@link Config} holds the standard
 * sections, typed, and the whole document in {@link Config.raw} for the
 * application's own keys. The passphrase and token (`auth.pass`,
 * `auth.token`) are held as {@link Secret}s in the typed section only (not
 * in `raw`), so they never show in `util.inspect`, `JSON.stringify` or
 * error messages, not even in copies such as `{ ...config.auth }`.
 *
 * Choices the Rust client leaves open (docs/assumptions.md): `channel` may
 * be a TOML integer 0..255; `sub-retry-delay` must be a duration with units
 * ("1 minute", "30s", "1m 30s", "500ms") and is parsed at load; a negative or
 * fractional `sub-retries` is an error; an empty `$DDMW_APPCONF` counts as
 * unset; a file that exists but cannot be read is an `IO` error.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { compact, configError, durationMs, Extractor, findKeyLine } from './conf-extract.ts';
import { formatProtAddr, type ProtAddr, parseProtAddr, toProtAddr } from './conn/addr.ts';
import { DdmwError, isDdmwError } from './err.ts';
import { Secret, toSecret } from './secret.ts';
import { type AppChannel, checkAppChannel, parseAppChannel } from './types.ts';

/** A value in a parsed TOML document. */
export type ConfigValue = string | number | boolean | Date | ConfigValue[] | ConfigTable;

/** A TOML table: the whole document, or one of its `[sections]`. */
export interface ConfigTable {
  [key: string]: ConfigValue;
}

/**
 * The `[auth]` section. Structurally an `auth.Auth`, so it can be passed to
 * `authenticate`, as can a copy (`{ ...config.auth, name: 'other' }`).
 * `pass` and `token` are {@link Secret}s: `pass?.reveal()` reads one.
 */
export interface AuthConfig {
  /** Account name (`name`). */
  name?: string;
  /** Passphrase, used only with `name` (`pass`). */
  pass?: Secret;
  /** File whose first line is the passphrase (`pass-file`). */
  passFile?: string;
  /** Authentication token, tried first (`token`). */
  token?: Secret;
  /** File holding the token; requested and saved there when missing (`token-file`). */
  tokenFile?: string;
}

/** The `[sender]` section: the sender node's interfaces. */
export interface SenderConfig {
  /** Management interface address (`mgmtif`). */
  mgmtif?: string;
  /** Message interface address (`msgif`): `host:port` or a Unix socket path. */
  msgif?: string;
}

/** The `[receiver]` section: the receiver node's interfaces and resubscribe policy. */
export interface ReceiverConfig {
  /** Management interface address (`mgmtif`). */
  mgmtif?: string;
  /** Subscription interface address (`subif`). */
  subif?: string;
  /** Resubscribe attempts after a lost connection (`sub-retries`, a u32). */
  subRetries?: number;
  /** Delay between attempts as written (`sub-retry-delay`, e.g. `"1 minute"`). */
  subRetryDelay?: string;
  /** {@link ReceiverConfig.subRetryDelay} in milliseconds (may be fractional). */
  subRetryDelayMs?: number;
  /** Where the application listens when the receiver pushes (`push-listenif`). */
  pushListenif?: string;
}

const DEFAULT_FILE = 'ddmwapp.toml';
const U32_MAX = 0xffff_ffff;

/** Line numbers of keys validated only when read, by config (no secrets kept). */
const keyLines = new WeakMap<Config, Record<string, number | undefined>>();

/**
 * The application configuration: the standard sections of `ddmwapp.toml`,
 * typed, plus the whole document. Unknown keys are ignored by the typed
 * sections but kept in {@link Config.raw}. `new Config()` is an empty
 * configuration to fill with the setters.
 */
export class Config {
  /** Application channel as text: a number 0..255 or a channel name (see {@link Config.getAppCh}). */
  channel?: string;
  /** The `[auth]` section. */
  auth?: AuthConfig;
  /** The `[sender]` section. */
  sender?: SenderConfig;
  /** The `[receiver]` section. */
  receiver?: ReceiverConfig;
  /**
   * The whole parsed document, for application keys such as
   * `raw['custom-string']` or `raw['custom-app']`. It reflects the file:
   * the setters change the typed fields only. Its tables have a null
   * prototype. It holds no secrets: `auth.pass` and `auth.token` are taken
   * out of `raw.auth` and kept only in {@link Config.auth}.
   */
  raw: ConfigTable = {};
  /** The file this configuration was read from, if any (named in errors). */
  source: string | undefined;
  /**
   * What looks wrong in the file without making it unusable: each unknown
   * key of a standard section, and each top-level key that looks like a
   * misspelt standard one, with its file, line and the key it likely meant.
   * (The `ddmw` tool prints them.)
   */
  warnings: string[] = [];

  /**
   * The channel parsed as in the Rust `AppChannel::from_str`: `"42"` is 42,
   * `"telemetry"` a name. `undefined` when no channel is set; `CONFIG` when
   * it is not a valid channel.
   */
  getAppCh(): AppChannel | undefined {
    if (this.channel === undefined) return undefined;
    try {
      return parseAppChannel(this.channel);
    } catch (err) {
      throw this.#invalid('channel', err);
    }
  }

  /** Stores `ch` (checked: `BAD_INPUT` if invalid) as the channel text. Returns `this`. */
  setAppCh(ch: AppChannel): this {
    this.channel = String(checkAppChannel(ch));
    return this;
  }

  /**
   * `sender.msgif` parsed into a {@link ProtAddr} (a value containing `/` is
   * a Unix socket path). `undefined` when unset; `CONFIG` when malformed.
   */
  getSenderMsgif(): ProtAddr | undefined {
    const msgif = this.sender?.msgif;
    if (msgif === undefined) return undefined;
    try {
      return parseProtAddr(msgif);
    } catch (err) {
      throw this.#invalid('sender.msgif', err);
    }
  }

  /** Sets `sender.msgif` (`PARSE` error for a malformed address text). Returns `this`. */
  setSenderMsgif(addr: string | ProtAddr): this {
    this.sender = { ...this.sender, msgif: formatProtAddr(toProtAddr(addr)) };
    return this;
  }

  /** Sets `auth.name`. Returns `this`. */
  setAuthAccount(name: string): this {
    this.#auth().name = name;
    return this;
  }

  /** Sets `auth.pass` (held as a {@link Secret}). Returns `this`. */
  setAuthPass(pass: string | Secret): this {
    this.#auth().pass = toSecret(pass);
    return this;
  }

  /** Sets `auth.passFile`. Returns `this`. */
  setAuthPassFile(path: string): this {
    this.#auth().passFile = path;
    return this;
  }

  /** Sets `auth.token` (held as a {@link Secret}). Returns `this`. */
  setAuthToken(tkn: string | Secret): this {
    this.#auth().token = toSecret(tkn);
    return this;
  }

  /** Sets `auth.tokenFile`. Returns `this`. */
  setAuthTokenFile(path: string): this {
    this.#auth().tokenFile = path;
    return this;
  }

  /** The auth section, created if missing. */
  #auth(): AuthConfig {
    this.auth ??= {};
    return this.auth;
  }

  #invalid(key: string, err: unknown): DdmwError {
    const why = isDdmwError(err) ? `: ${err.message}` : '';
    return configError(this.source, keyLines.get(this)?.[key], `${key} is invalid${why}`, err);
  }
}

/**
 * Parses the text of a `ddmwapp.toml`. `source` names the file in error
 * messages. Throws `CONFIG` for a TOML syntax error (with line and column)
 * or a standard key of the wrong type (with the key and, when found, its
 * line); every address is checked here too. `channel` is checked when read
 * ({@link Config.getAppCh}), as in Rust. Unknown keys are listed in
 * {@link Config.warnings}.
 */
export function parseConfig(text: string, source: string): Config {
  let doc: ConfigTable;
  try {
    doc = parseToml(text, { integersAsBigInt: false }); // huge integers are errors
  } catch (err) {
    if (!(err instanceof TomlError)) throw configError(source, undefined, 'unreadable TOML');
    // The message's first line only: its code excerpt may show a secret.
    const reason = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
    throw new DdmwError(
      'CONFIG',
      `Invalid TOML in ${source} at line ${err.line}, column ${err.column}: ${reason}`,
    );
  }
  const x = new Extractor(text, source);
  const config = new Config();
  config.raw = doc;
  config.source = source;

  const channel = doc.channel;
  if (typeof channel === 'number') {
    // Our extension: an integer channel is accepted and stored as its text.
    if (!Number.isInteger(channel) || channel < 0 || channel > 255) {
      throw x.fail(undefined, 'channel', 'must be a channel number 0..255 or a channel name');
    }
    config.channel = String(channel);
  } else if (channel !== undefined) {
    config.channel = x.string(doc, undefined, 'channel', ' (a number 0..255 or a name)');
  }

  const auth = x.section(doc, 'auth');
  if (auth) {
    /** The passphrase or token, as a Secret, taken out of `raw`. */
    const secret = (key: 'pass' | 'token') => {
      const value = x.string(auth, 'auth', key);
      delete auth[key];
      return value === undefined ? undefined : new Secret(value);
    };
    config.auth = compact({
      name: x.string(auth, 'auth', 'name'),
      pass: secret('pass'),
      passFile: x.string(auth, 'auth', 'pass-file', ' (a file path)'),
      token: secret('token'),
      tokenFile: x.string(auth, 'auth', 'token-file', ' (a file path)'),
    });
  }

  const sender = x.section(doc, 'sender');
  if (sender) {
    config.sender = compact({
      mgmtif: x.address(sender, 'sender', 'mgmtif'),
      msgif: x.address(sender, 'sender', 'msgif'),
    });
  }

  const receiver = x.section(doc, 'receiver');
  if (receiver) {
    const retries = receiver['sub-retries'];
    const isU32 = typeof retries === 'number' && Number.isInteger(retries) && retries >= 0;
    if (retries !== undefined && !(isU32 && retries <= U32_MAX)) {
      throw x.wrongType('receiver', 'sub-retries', `an integer from 0 to ${U32_MAX}`, retries);
    }
    const delay = x.string(receiver, 'receiver', 'sub-retry-delay', ' like "1 minute" or "30s"');
    const delayMs = delay === undefined ? undefined : durationMs(delay);
    if (delay !== undefined && delayMs === undefined) {
      throw x.fail(
        'receiver',
        'sub-retry-delay',
        `must be a duration with units like "1 minute", "30s", "1m 30s" or "500ms" (found ${JSON.stringify(delay)})`,
      );
    }
    config.receiver = compact({
      mgmtif: x.address(receiver, 'receiver', 'mgmtif'),
      subif: x.address(receiver, 'receiver', 'subif'),
      subRetries: retries,
      subRetryDelay: delay,
      subRetryDelayMs: delayMs,
      pushListenif: x.address(receiver, 'receiver', 'push-listenif'),
    });
  }

  const authKeys = ['name', 'pass', 'pass-file', 'token', 'token-file'];
  config.warnings = [
    ...x.misplaced(doc, ['pass', 'pass-file', 'token', 'token-file'], 'auth'),
    ...x.unknownKeys(doc, undefined, ['channel', 'auth', 'sender', 'receiver']),
    ...(auth ? x.unknownKeys(auth, 'auth', authKeys) : []),
    ...(sender ? x.unknownKeys(sender, 'sender', ['mgmtif', 'msgif']) : []),
    ...(receiver
      ? x.unknownKeys(receiver, 'receiver', [
          'mgmtif',
          'subif',
          'sub-retries',
          'sub-retry-delay',
          'push-listenif',
        ])
      : []),
  ];
  // What is left in [auth] was not understood, and may be a misspelt secret (`passwd`): not kept in raw.
  if (auth) for (const key of Object.keys(auth)) if (!authKeys.includes(key)) delete auth[key];
  keyLines.set(config, {
    channel: findKeyLine(text, undefined, 'channel'),
    'sender.msgif': findKeyLine(text, 'sender', 'msgif'),
  });
  return config;
}

/**
 * Loads the application configuration, in the Rust lookup order: `path` if
 * given, else the file named by `$DDMW_APPCONF`, else `ddmwapp.toml` in the
 * current working directory. Only that one file is tried, with no
 * fall-through to the next place. A file named by `path` or
 * `$DDMW_APPCONF` must exist (`CONFIG` naming it and where it was named);
 * a missing `./ddmwapp.toml` gives `null`. A broken file is a `CONFIG`
 * error (see {@link parseConfig}); one that exists but cannot be read is
 * `IO`. Keys that look mistaken are listed in {@link Config.warnings}.
 */
export async function load(path?: string): Promise<Config | null> {
  const named = path !== undefined || Boolean(process.env.DDMW_APPCONF);
  const file = path ?? (process.env.DDMW_APPCONF || join(process.cwd(), DEFAULT_FILE));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (!named) return null;
      const by = path === undefined ? ' (named by $DDMW_APPCONF)' : '';
      throw new DdmwError('CONFIG', `Config file ${file}${by} does not exist`, { cause: err });
    }
    throw new DdmwError('IO', `Cannot read config file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseConfig(text.replace(/^\uFEFF/, ''), file);
}
