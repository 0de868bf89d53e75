/** Runs a subcommand: builds its context, reports errors in one line, sets the exit code. */
import type { Command } from 'commander';
import { isDdmwError } from '../err.ts';
import { Context, exitCodeOf, type GlobalOptions } from './context.ts';

/** A subcommand's body: its context, its own options, and its positional arguments. */
export type Handler<O> = (ctx: Context, options: O, args: string[]) => Promise<void>;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Text that may come from a node, made safe for a terminal: control characters shown as `?`. */
export const printable = (text: string) => text.replace(CONTROL, '?');

/** The command as typed: `ddmw acc wr`, not just `wr`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Wraps a handler as a commander action. */
export function action<O>(fn: Handler<O>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    try {
      const ctx = await Context.create(command.optsWithGlobals() as GlobalOptions);
      for (const warning of ctx.config?.warnings ?? []) {
        process.stderr.write(`${commandPath(command)}: warning: ${warning}\n`);
      }
      await fn(ctx, command.opts() as O, command.args);
    } catch (err) {
      // Messages may quote the node (a Fail reason, a transfer id): no control characters on the terminal.
      const text = printable(err instanceof Error ? err.message : String(err));
      // Malformed data from the peer: most often the address is not a DDMW interface at all.
      const message = isDdmwError(err, 'BLATHER')
        ? `${text} (the peer does not speak DDMW's protocol: is the address a DDMW client interface?)`
        : text;
      process.stderr.write(`${commandPath(command)}: ${message}\n`);
      process.exitCode = exitCodeOf(err);
    }
  };
}
