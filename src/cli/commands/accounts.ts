/** `ddmw acc ls|rd|wr|rm`: account management on a node's management interface. */
import type { Command } from 'commander';
import type { Connection } from '../../conn/index.ts';
import { DdmwError } from '../../err.ts';
import { acc } from '../../mgmt/index.ts';
import { simulatorKnows } from '../../sim/accounts/known-perms.ts';
import { parseObjRef } from '../../types.ts';
import { action } from '../action.ts';
import type { Context } from '../context.ts';
import { mgmtAddress, type NodeOptions, withNodeOptions } from './node.ts';

interface WrFlags extends NodeOptions {
  newName?: string;
  userName?: string;
  lock?: boolean;
  unlock?: boolean;
  perms?: string;
  grant?: string;
  revoke?: string;
}

const list = (csv: string | undefined) =>
  csv === undefined ? undefined : csv.split(',').filter((p) => p.length > 0);

async function withConn<T>(
  ctx: Context,
  o: NodeOptions,
  fn: (c: Connection) => Promise<T>,
): Promise<T> {
  const c = await ctx.connect(mgmtAddress(ctx, o));
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

function describe(a: acc.Account): string {
  const perms = [...a.perms].join(', ') || '(none)';
  return `${a.name} (id ${a.id})${a.lock ? ', locked' : ''}${a.userName ? `, ${a.userName}` : ''}\npermissions: ${perms}`;
}

/** Warns (on stderr) about each permission the simulator does not know: likely a typo, but a real node may know it. */
function warnUnknownPerms(perms: string[] | undefined): void {
  for (const perm of perms ?? []) {
    if (!simulatorKnows(perm)) {
      process.stderr.write(
        `ddmw acc wr: warning: "${perm}" is not a permission the simulator knows (a real DDMW node may; sent as given)\n`,
      );
    }
  }
}

/** The changes asked for by the `wr` flags. */
function changes(o: WrFlags): acc.WrAccount {
  const ai: acc.WrAccount = {};
  if (o.newName !== undefined) ai.newName = o.newName;
  if (o.userName !== undefined) ai.userName = o.userName;
  if (o.lock || o.unlock) ai.lock = Boolean(o.lock);
  const set = list(o.perms);
  const grant = list(o.grant);
  const revoke = list(o.revoke);
  if (set) ai.perms = { set };
  else if (grant || revoke) ai.perms = { grant, revoke };
  warnUnknownPerms(set ?? grant);
  if (Object.keys(ai).length === 0) {
    throw new DdmwError(
      'BAD_PARAMS',
      'Nothing to change: give --new-name, --user-name, --lock, --unlock, --perms, --grant or --revoke',
    );
  }
  return ai;
}

/** Registers `acc` and its subcommands. */
export function registerAccountCommands(program: Command): void {
  const group = program.command('acc').description('manage accounts (ls, rd, wr, rm)');
  withNodeOptions(group.command('ls').description('list accounts'))
    .option('--all', 'include locked accounts')
    .action(
      action<NodeOptions & { all?: boolean }>(async (ctx, o) => {
        const entries = await withConn(ctx, o, (c) => acc.ls(c, Boolean(o.all)));
        ctx.print(entries, entries.map((e) => `${String(e.id).padStart(4)}  ${e.name}`).join('\n'));
      }),
    );
  withNodeOptions(
    group.command('rd [account]').description('show an account (default: your own), by id or name'),
  ).action(
    action<NodeOptions>(async (ctx, o, args) => {
      const target = args[0] === undefined ? undefined : parseObjRef(args[0]);
      const a = await withConn(ctx, o, (c) => acc.rd(c, target));
      ctx.print(a, describe(a));
    }),
  );
  withNodeOptions(
    group
      .command('wr <account>')
      .description('change an account: name, user name, lock, permissions'),
  )
    .option('--new-name <name>', 'rename the account')
    .option('--user-name <name>', 'set the owner\'s real name ("" clears it)')
    .option('--lock', 'lock the account')
    .option('--unlock', 'unlock the account')
    .option('--perms <list>', 'replace all permissions (comma separated)')
    .option('--grant <list>', 'add permissions (comma separated)')
    .option('--revoke <list>', 'remove permissions (comma separated)')
    .action(
      action<WrFlags>(async (ctx, o, args) => {
        const target = parseObjRef(args[0] as string);
        await withConn(ctx, o, (c) => acc.wr(c, target, changes(o)));
        ctx.print({ changed: target }, `changed ${target}`);
      }),
    );
  withNodeOptions(group.command('rm <account>').description('remove an account')).action(
    action<NodeOptions>(async (ctx, o, args) => {
      const target = parseObjRef(args[0] as string);
      await withConn(ctx, o, (c) => acc.rm(c, target));
      ctx.print({ removed: target }, `removed ${target}`);
    }),
  );
}
