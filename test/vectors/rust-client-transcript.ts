/**
 * What the public Rust client writes: its request transcript, as test data.
 *
 * Copied from the project's shared spec `spec/rust-client-transcript.md`
 * ("captured byte for byte from the public Rust `ddmw-client` 0.1.0 (with
 * `blather` 0.8.0) talking to a DDMW node over TCP"), so that the suite
 * reads nothing outside the repository. The request texts are the spec's,
 * character for character, with `\n` for the byte 0x0A; `<token>` stands for
 * a token. Rows the spec gives as "a / b" are split into two rows. Beside
 * each row: the call of this client that performs the same operation.
 *
 * Parameter order is not significant (the Rust client writes hash-map
 * order); the values of {@link LIST_KEYS} are comma-joined sets.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { authenticate, unauthenticate } from '../../src/auth.ts';
import { Params } from '../../src/blather/index.ts';
import type { Connection } from '../../src/conn/connection.ts';
import { whoami } from '../../src/conn/index.ts';
import { ls, rd, rm, wr } from '../../src/mgmt/acc.ts';
import { send, subscribe } from '../../src/msg/index.ts';
import type { MsgSpec } from '../../src/msg/types.ts';
import { getNodeInfo } from '../../src/probe.ts';

/** What a row's client call may need: the token standing for `<token>`, a scratch folder. */
export interface CallContext {
  token: string;
  dir: string;
}

/** The interface a request goes to. */
export type Iface = 'any' | 'msgif' | 'subif' | 'mgmtif';

/** One request of the transcript and our client's call for the same operation. */
export interface RequestRow {
  /** The operation, as the spec's table names it. */
  operation: string;
  /** Where the request goes. */
  iface: Iface;
  /** The request exactly as the Rust client wrote it. */
  request: string;
  /** Our client performing the operation. */
  call(conn: Connection, ctx: CallContext): Promise<unknown>;
}

/**
 * A message row: the `Msg` telegram, then what follows it. Metadata is
 * either the exact text of a params block or raw bytes of a length
 * (content from {@link metaBytes}); the payload is its length (content from
 * {@link payloadBytes}). The channel is 7 in every row.
 */
export interface MsgRow extends RequestRow {
  iface: 'msgif';
  cmd: number;
  meta?: string | number;
  payloadLen?: number;
}

/** True for a message row. */
export function isMsgRow(row: RequestRow): row is MsgRow {
  return 'cmd' in row;
}

/** Keys whose values are comma-joined lists, compared as sets. */
export const LIST_KEYS: ReadonlySet<string> = new Set(['Grant', 'Revoke', 'Perms']);

/** Deterministic bytes of a given length (`seed` tells parts apart). */
export function pattern(length: number, seed: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed + (i >> 8)) & 0xff;
  return bytes;
}

/** The metadata bytes of a message row (none when it has no metadata). */
export function metaBytes(row: MsgRow): Buffer {
  if (row.meta === undefined) return Buffer.alloc(0);
  return typeof row.meta === 'string' ? Buffer.from(row.meta) : pattern(row.meta, 1);
}

/** The payload bytes of a message row (none when it has no payload). */
export function payloadBytes(row: MsgRow): Buffer {
  return pattern(row.payloadLen ?? 0, 2);
}

/** `send` on channel 7 with `cmd` and the given parts. */
function sendOn7(cmd: number, parts: Omit<MsgSpec, 'ch' | 'cmd'>) {
  return (conn: Connection) => send(conn, { ch: 7, cmd, ...parts });
}

/** Session and node inspection (any interface). */
export const SESSION_ROWS: readonly RequestRow[] = [
  { operation: 'who am I', iface: 'any', request: 'WhoAmI\n\n', call: (c) => whoami(c) },
  {
    operation: 'log in, asking for a token',
    iface: 'any',
    request: 'Auth\nPass secret\nReqTkn True\nAccName frank\n\n',
    // A token file that does not exist yet: the Rust decision asks for a token to store there.
    call: (c, ctx) =>
      authenticate(c, { name: 'frank', pass: 'secret', tokenFile: join(ctx.dir, 'new-token') }),
  },
  {
    operation: 'log in, no token asked',
    iface: 'any',
    request: 'Auth\nAccName frank\nPass secret\n\n',
    call: (c) => authenticate(c, { name: 'frank', pass: 'secret' }),
  },
  {
    operation: 'log in with a token',
    iface: 'any',
    request: 'Auth\nTkn <token>\n\n',
    call: (c, ctx) => authenticate(c, { token: ctx.token }),
  },
  { operation: 'log out', iface: 'any', request: 'Unauth\n\n', call: (c) => unauthenticate(c) },
  {
    operation: 'node info',
    iface: 'any',
    request: 'GetNodeInfo\n\n',
    call: (c) => getNodeInfo(c),
  },
];

const PARAMS_META = 'Kind params+payload\nCount 3\nName interop\n\n';

/** Messages (sender node's message interface). */
export const MSG_ROWS: readonly MsgRow[] = [
  {
    operation: 'params metadata (42 B) + 300000 B payload, cmd 1',
    iface: 'msgif',
    request: 'Msg\nMetaLen 42\nCmd 1\nLen 300000\n_Ch 7\n\n',
    cmd: 1,
    meta: PARAMS_META,
    payloadLen: 300000,
    call: sendOn7(1, {
      meta: new Params({ Kind: 'params+payload', Count: 3, Name: 'interop' }),
      payload: pattern(300000, 2),
    }),
  },
  {
    operation: 'payload only, cmd 2',
    iface: 'msgif',
    request: 'Msg\nCmd 2\nLen 300000\n_Ch 7\n\n',
    cmd: 2,
    payloadLen: 300000,
    call: sendOn7(2, { payload: pattern(300000, 2) }),
  },
  {
    operation: 'metadata only, cmd 3',
    iface: 'msgif',
    request: 'Msg\nCmd 3\n_Ch 7\nMetaLen 11\n\n',
    cmd: 3,
    meta: 'Only meta\n\n',
    call: sendOn7(3, { meta: new Params({ Only: 'meta' }) }),
  },
  {
    operation: 'empty, cmd 4',
    iface: 'msgif',
    request: 'Msg\n_Ch 7\nCmd 4\n\n',
    cmd: 4,
    call: sendOn7(4, {}),
  },
  {
    operation: '20 MiB file payload, cmd 5',
    iface: 'msgif',
    request: 'Msg\nCmd 5\n_Ch 7\nLen 20971520\n\n',
    cmd: 5,
    payloadLen: 20971520,
    call: async (c, ctx) => {
      const file = join(ctx.dir, 'payload-20MiB');
      await writeFile(file, pattern(20971520, 2));
      return send(c, { ch: 7, cmd: 5, payload: { file } });
    },
  },
  {
    operation: 'raw 12 B metadata + 10 B payload, cmd 6',
    iface: 'msgif',
    request: 'Msg\nLen 10\n_Ch 7\nMetaLen 12\nCmd 6\n\n',
    cmd: 6,
    meta: 12,
    payloadLen: 10,
    call: sendOn7(6, { meta: pattern(12, 1), payload: pattern(10, 2) }),
  },
];

/** The row without bytes: "cmd 0: `Cmd` is not written". */
export const CMD_ZERO = { operation: 'cmd 0', absentKey: 'Cmd', call: sendOn7(0, {}) } as const;

/** Subscribing (receiver node's subscription interface). */
export const SUB_ROWS: readonly RequestRow[] = [
  {
    operation: 'subscribe to channel 7',
    iface: 'subif',
    request: 'Sub\nCh 7\n\n',
    call: (c) => subscribe(c, 7),
  },
];

/** Account management (management interfaces). */
export const ACCOUNT_ROWS: readonly RequestRow[] = [
  { operation: 'list accounts', iface: 'mgmtif', request: 'LsAcc\n\n', call: (c) => ls(c) },
  {
    operation: 'list accounts, locked ones too',
    iface: 'mgmtif',
    request: 'LsAcc\nAll True\n\n',
    call: (c) => ls(c, true),
  },
  { operation: 'read own account', iface: 'mgmtif', request: 'RdAcc\n\n', call: (c) => rd(c) },
  {
    operation: 'read by name',
    iface: 'mgmtif',
    request: 'RdAcc\nName jane\n\n',
    call: (c) => rd(c, 'jane'),
  },
  { operation: 'read by id', iface: 'mgmtif', request: 'RdAcc\nId 3\n\n', call: (c) => rd(c, 3) },
  {
    operation: 'change user name, lock, grant two permissions',
    iface: 'mgmtif',
    request: 'WrAcc\nLock True\nUserName Jane Q. Public\nGrant subscribe,send\nName jane\n\n',
    call: (c) =>
      wr(c, 'jane', {
        lock: true,
        userName: 'Jane Q. Public',
        perms: { grant: ['subscribe', 'send'] },
      }),
  },
  {
    operation: 'revoke one',
    iface: 'mgmtif',
    request: 'WrAcc\nId 2\nRevoke send\n\n',
    call: (c) => wr(c, 2, { perms: { revoke: ['send'] } }),
  },
  {
    operation: 'revoke and grant',
    iface: 'mgmtif',
    request: 'WrAcc\nId 2\nRevoke subscribe\nGrant accounts.read\n\n',
    call: (c) => wr(c, 2, { perms: { revoke: ['subscribe'], grant: ['accounts.read'] } }),
  },
  {
    operation: 'replace the permissions and unlock',
    iface: 'mgmtif',
    request: 'WrAcc\nPerms x,y\nId 2\nLock False\n\n',
    call: (c) => wr(c, 2, { perms: { set: ['x', 'y'] }, lock: false }),
  },
  {
    operation: 'rename',
    iface: 'mgmtif',
    request: 'WrAcc\nName jane\nNewName janet\n\n',
    call: (c) => wr(c, 'jane', { newName: 'janet' }),
  },
  {
    operation: 'remove by name',
    iface: 'mgmtif',
    request: 'RmAcc\nName bob\n\n',
    call: (c) => rm(c, 'bob'),
  },
  {
    operation: 'remove by id',
    iface: 'mgmtif',
    request: 'RmAcc\nId 99\n\n',
    call: (c) => rm(c, 99),
  },
];

/**
 * The note below the account table: "The Rust client sends `WrAcc\nId 2\n\n`
 * (nothing to change) as is and lets the server refuse it; refusing it
 * before sending, as our client does, is fine."
 */
export const NOTHING_TO_CHANGE = {
  operation: 'change nothing',
  request: 'WrAcc\nId 2\n\n',
  call: (c: Connection) => wr(c, 2, {}),
} as const;

/** Every row with request bytes. */
export const ALL_ROWS: readonly RequestRow[] = [
  ...SESSION_ROWS,
  ...MSG_ROWS,
  ...SUB_ROWS,
  ...ACCOUNT_ROWS,
];
