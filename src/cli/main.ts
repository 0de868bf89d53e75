#!/usr/bin/env node
/**
 * `ddmw`: the DDMW command line tool. Every command reads `ddmwapp.toml`
 * (`--config`, else `$DDMW_APPCONF`, else `./ddmwapp.toml`); flags override it.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerAccountCommands } from './commands/accounts.ts';
import { registerFileTransferCommands } from './commands/file-transfer.ts';
import { registerMessageCommands } from './commands/messages.ts';
import { registerNodeCommands } from './commands/node.ts';
import { registerReconcileCommand } from './commands/reconcile.ts';
import { registerSimCommand } from './commands/sim.ts';
import { registerStreamCommands } from './commands/streams.ts';
import { registerUdpCommands } from './commands/udp.ts';
import { EXIT } from './context.ts';

/** This package's version: package.json is two folders up, from src/cli and from dist/cli alike. */
const { version } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string };

const program = new Command('ddmw')
  .description('DDMW (Data Diode Middleware) command line tool')
  .version(version, '-V, --version', 'print the version of ddmw-client')
  .option('--config <file>', 'ddmwapp.toml to read (default: $DDMW_APPCONF, else ./ddmwapp.toml)')
  .option('--json', 'print results as JSON (one document per result)')
  .option('--name <account>', 'account name (the passphrase comes from $DDMW_PASS or --pass-file)')
  .option('--pass-file <file>', 'file whose first line is the passphrase')
  .option(
    '--token <token>',
    'authentication token (visible in the process list: prefer $DDMW_TOKEN)',
  )
  .option('--token-file <file>', 'token file (requested and stored by `ddmw auth` when missing)')
  .option(
    '--timeout <ms>',
    'time limit in milliseconds for connecting + authenticating, and for each request (waiting for messages has none)',
    '10000',
  )
  .addHelpText(
    'after',
    `
Exit codes:
  ${EXIT.ok}  success
  ${EXIT.refused}  the node refused the request (Fail), or another failure
  ${EXIT.usage}  usage or configuration error (bad flag, channel, address, credentials)
  ${EXIT.connection}  connection error (refused, lost, timed out, malformed data)`,
  )
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  });

registerNodeCommands(program);
registerMessageCommands(program);
registerAccountCommands(program);
registerStreamCommands(program);
registerFileTransferCommands(program);
registerReconcileCommand(program);
registerSimCommand(program);
registerUdpCommands(program);

await program.parseAsync(process.argv);
