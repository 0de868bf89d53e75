/**
 * The permissions the simulator gives a meaning to. A real DDMW node may
 * know more; tools use this to warn about a likely typo, never to refuse.
 */
import { PERM_READ, PERM_WRITE } from './commands.ts';

/** `*`, `accounts.read`, `accounts.write`, `send`, `subscribe`, and `send:<ch>` / `subscribe:<ch>`. */
export function simulatorKnows(perm: string): boolean {
  if (perm === '*' || perm === PERM_READ || perm === PERM_WRITE) return true;
  return /^(send|subscribe)(:.+)?$/.test(perm);
}
