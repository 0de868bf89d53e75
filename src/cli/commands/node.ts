/** `ddmw probe`, `ddmw whoami`, `ddmw auth`: talking to a node's management interface. */
import type { Command } from 'commander';
import { whoami } from '../../conn/index.ts';
import { DdmwError } from '../../err.ts';
import { getNodeInfo } from '../../probe.ts';
import { action } from '../action.ts';
import type { Context } from '../context.ts';

/** Options that pick the node interface to talk to. */
export interface NodeOptions {
  node?: string;
  addr?: string;
}

/** The management interface address of the chosen node (flag, else config). */
export function mgmtAddress(ctx: Context, o: NodeOptions): string {
  const node = o.node ?? 'sender';
  if (node !== 'sender' && node !== 'receiver') {
    throw new DdmwError('BAD_PARAMS', `--node must be "sender" or "receiver", got "${node}"`);
  }
  const configured = node === 'sender' ? ctx.config?.sender?.mgmtif : ctx.config?.receiver?.mgmtif;
  return ctx.address(o.addr, configured, `${node} node's management interface`);
}

export function withNodeOptions(cmd: Command): Command {
  return cmd
    .option('--node <node>', 'sender or receiver (default: sender)')
    .option(
      '--addr <address>',
      'interface address (host:port or socket path); overrides the config',
    );
}

/** Registers the node commands. */
export function registerNodeCommands(program: Command): void {
  withNodeOptions(program.command('probe').description('show what a node is (GetNodeInfo)')).action(
    action<NodeOptions>(async (ctx, o) => {
      const conn = await ctx.connect(mgmtAddress(ctx, o));
      try {
        const info = await getNodeInfo(conn);
        ctx.print(
          info,
          `${info.nodeType} node, DDMW ${info.version} on ${info.osName}\nlink: ${info.ddlnk.engine} (${info.ddlnk.protocol}, ${info.ddlnk.protImpl})`,
        );
      } finally {
        await conn.close();
      }
    }),
  );
  withNodeOptions(
    program.command('whoami').description('show the account a connection belongs to'),
  ).action(
    action<NodeOptions>(async (ctx, o) => {
      const conn = await ctx.connect(mgmtAddress(ctx, o));
      try {
        const me = await whoami(conn);
        ctx.print(me, `${me.name} (id ${me.id})`);
      } finally {
        await conn.close();
      }
    }),
  );
  withNodeOptions(
    program
      .command('auth')
      .description(
        'authenticate; with a token file and a passphrase, request a new token and store it there',
      ),
  ).action(
    action<NodeOptions>(async (ctx, o) => {
      const auth = ctx.auth();
      if (!auth)
        throw new DdmwError(
          'INVALID_CREDENTIALS',
          'No credentials: pass --name (with DDMW_PASS or --pass-file), --token or --token-file, or set [auth] in ddmwapp.toml',
        );
      const conn = await ctx.connect(mgmtAddress(ctx, o), false);
      try {
        const stored = await ctx.authenticate(conn, auth, true);
        const me = await whoami(conn);
        const note = stored ? `; new token stored in ${auth.tokenFile}` : '';
        ctx.print(
          { ...me, tokenStored: stored },
          `authenticated as ${me.name} (id ${me.id})${note}`,
        );
      } finally {
        await conn.close();
      }
    }),
  );
}
