/**
 * Permission names in canonical form. A channel permission (`send:<ch>`,
 * `subscribe:<ch>`) is kept with its channel's canonical text
 * (node/channels.ts), so `send:042` and `send:+42` are stored, shown and
 * compared as `send:42`. Every other permission is kept as written.
 */
import { CHANNEL_ACTIONS, channelPermission, parseChannel } from '../node/channels.ts';
import { CommandFailed } from '../node/command-failed.ts';

/**
 * The canonical form of `perm`. Throws {@link CommandFailed}, with a reason
 * that quotes the permission, when it is empty, holds a `,`, starts or ends
 * with white space, or names a channel that is not valid.
 */
export function canonicalPermission(perm: string): string {
  const refuse = (why: string) => new CommandFailed(`Permission "${perm}" is not valid: ${why}`);
  if (perm.length === 0) throw refuse('it is empty');
  if (perm.includes(',')) throw refuse("it contains ','");
  if (perm.trim() !== perm) throw refuse('it starts or ends with white space');
  const colon = perm.indexOf(':');
  const action = CHANNEL_ACTIONS.find((a) => a === perm.slice(0, colon));
  if (colon < 0 || action === undefined) return perm;
  const channel = perm.slice(colon + 1);
  if (channel.trim() !== channel) throw refuse('its channel starts or ends with white space');
  try {
    return channelPermission(action, parseChannel(channel));
  } catch (err) {
    if (!(err instanceof CommandFailed)) throw err;
    throw refuse(err.message.charAt(0).toLowerCase() + err.message.slice(1));
  }
}

/** The canonical forms of `perms`, without duplicates; throws as {@link canonicalPermission}. */
export function canonicalPermissions(perms: Iterable<string>): Set<string> {
  return new Set([...perms].map(canonicalPermission));
}
