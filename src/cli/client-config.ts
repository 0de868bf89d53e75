/**
 * The `ddmwapp.toml` a client needs to talk to a running `ddmw sim`: its
 * four addresses and, for the demo account, its well-known name and
 * passphrase. No other passphrase is ever written.
 */
import { open } from 'node:fs/promises';
import { DdmwError } from '../err.ts';
import type { SimAccount, Simulator } from '../sim/index.ts';

/** A TOML basic string (JSON's escapes are all valid TOML). */
const str = (s: string): string => JSON.stringify(s);

/**
 * The client config for `sim`. `demo` is the demo account when clients use
 * it; otherwise `accounts` says who can log in, in a comment.
 */
export function clientConfigToml(
  sim: Pick<Simulator, 'sender' | 'receiver'>,
  demo: Readonly<SimAccount> | undefined,
  accounts: string,
): string {
  const auth = demo
    ? [
        '[auth]',
        `name = ${str(demo.name)}`,
        `pass = ${str(demo.pass)}  # the demo account's well-known passphrase`,
      ]
    : [`# [auth]: name and pass-file (or $DDMW_PASS for ddmw) of an account: ${accounts}`];
  return [
    '# ddmwapp.toml for a running `ddmw sim`: valid while it listens on these addresses',
    '# channel = "42"  # your application channel',
    '',
    ...auth,
    '',
    '[sender]',
    `msgif = ${str(sim.sender.msgif)}`,
    `mgmtif = ${str(sim.sender.mgmtif)}`,
    '',
    '[receiver]',
    `subif = ${str(sim.receiver.subif)}`,
    `mgmtif = ${str(sim.receiver.mgmtif)}`,
    '',
  ].join('\n');
}

/**
 * Writes `text` to `path` with mode 0600. An existing file is a usage error
 * (`BAD_PARAMS`) unless `force`; other failures are `IO`.
 */
export async function writeClientConfig(path: string, text: string, force: boolean): Promise<void> {
  try {
    const file = await open(path, force ? 'w' : 'wx', 0o600);
    try {
      await file.chmod(0o600); // an overwritten file keeps its mode otherwise
      await file.writeFile(text);
    } finally {
      await file.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new DdmwError('BAD_PARAMS', `${path} already exists: pass --force to overwrite it`);
    }
    throw new DdmwError('IO', `Cannot write the client config ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
