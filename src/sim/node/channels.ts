/**
 * Application channels and the permissions that guard them. A channel is a
 * number 0..255 or a name (ddmw-client-reference.md §3.8); the simulator
 * keeps one canonical text per channel so that `042`, `+42` and `42` are the
 * same channel, and checks `send` / `subscribe` permissions against it.
 */
import { CommandFailed } from './command-failed.ts';

/** The longest channel name the simulator accepts, in UTF-8 bytes. */
const MAX_CHANNEL_NAME_BYTES = 255;

/** What an account may do on a channel. */
export type ChannelAction = 'send' | 'subscribe';

/** The actions that have a permission per channel (`send:<ch>`, `subscribe:<ch>`). */
export const CHANNEL_ACTIONS: readonly ChannelAction[] = ['send', 'subscribe'];

/** An account as far as channel permissions go. */
export interface Permissions {
  /** Account name, for reasons. */
  readonly name: string;
  /** Permission names (canonical); `*` grants every permission. */
  readonly perms: ReadonlySet<string>;
  /** A locked (or removed) account has no rights at all. */
  readonly lock: boolean;
}

/**
 * Returns the canonical text of a channel: a number 0..255 (Rust `u8`
 * syntax: an optional `+`, digits, leading zeros allowed) becomes its plain
 * decimal form, anything else is a channel name and stays as it is. Throws
 * {@link CommandFailed} for an empty or over-long channel.
 */
export function parseChannel(text: string): string {
  const number = /^\+?0*([0-9]{1,3})$/.exec(text);
  if (number && Number(number[1]) <= 255) return String(Number(number[1]));
  if (text.length === 0) throw new CommandFailed('The channel is empty');
  if (Buffer.byteLength(text) > MAX_CHANNEL_NAME_BYTES) {
    throw new CommandFailed(`Channel names are limited to ${MAX_CHANNEL_NAME_BYTES} bytes`);
  }
  return text;
}

/** The permission that grants `action` on `channel` (canonical text) alone. */
export function channelPermission(action: ChannelAction, channel: string): string {
  return `${action}:${channel}`;
}

/**
 * True when `who` may perform `action` on `channel` (canonical text): it is
 * not locked and holds `*`, the plain permission (`send`, `subscribe`) or
 * the one for this channel (`send:42`, `subscribe:telemetry`).
 */
export function mayUse(who: Permissions, action: ChannelAction, channel: string): boolean {
  const { perms } = who;
  if (who.lock) return false;
  return perms.has('*') || perms.has(action) || perms.has(channelPermission(action, channel));
}

/** Why `who` may not go on sending on `channel`, which it could when it began: the `Reason` of the `Fail`. */
export function sendRevokedReason(who: Permissions, channel: string): string {
  return `Permission revoked: account "${who.name}" may no longer send on channel "${channel}"`;
}

/** How a reason for refusing an action says what was refused. */
const REFUSED: Readonly<Record<ChannelAction, string>> = {
  send: 'send on',
  subscribe: 'subscribe to',
};

/** Why `who` may not perform `action` on `channel`: the `Reason` of the `Fail`. */
export function deniedReason(who: Permissions, action: ChannelAction, channel: string): string {
  const what = REFUSED[action];
  const locked = who.lock ? ' (the account is locked or removed)' : '';
  return `Permission denied: account "${who.name}" may not ${what} channel "${channel}"${locked}`;
}
