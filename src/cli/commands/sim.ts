/** `ddmw sim`: runs the embedded simulator until interrupted. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse } from 'smol-toml';
import { DdmwError } from '../../err.ts';
import { type SimulatorOptions, startSimulator } from '../../sim/index.ts';
import { action } from '../action.ts';
import type { Context } from '../context.ts';

interface SimFlags {
  simConfig?: string;
  log?: boolean;
}

/** The account a simulator gets when its config names none. */
const DEMO_ACCOUNT = { name: 'demo', pass: 'demo', perms: ['*'] };

/** `sub-retry-delay` -> `subRetryDelay`, recursively, so TOML keys map onto the options. */
function camelize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelize);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
      camelize(v),
    ]),
  );
}

async function simOptions(path: string | undefined): Promise<SimulatorOptions> {
  if (path === undefined) return { accounts: [DEMO_ACCOUNT] };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DdmwError(
      'CONFIG',
      `Cannot read the simulator config ${path}: ${(err as Error).message}`,
    );
  }
  try {
    const options = camelize(parse(text)) as SimulatorOptions;
    return { ...options, accounts: options.accounts ?? [DEMO_ACCOUNT] };
  } catch (err) {
    throw new DdmwError(
      'CONFIG',
      `Invalid TOML in ${path}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
}

async function runSim(ctx: Context, o: SimFlags): Promise<void> {
  const options = await simOptions(o.simConfig);
  if (o.log) options.log = (line) => process.stderr.write(`${line}\n`);
  const sim = await startSimulator(options);
  const addresses = { sender: sim.sender, receiver: sim.receiver };
  const accounts = options.accounts?.map((a) => a.name).join(', ');
  ctx.print(
    addresses,
    [
      'DDMW simulator running (Ctrl-C to stop)',
      `  sender   msgif  ${sim.sender.msgif}`,
      `  sender   mgmtif ${sim.sender.mgmtif}`,
      `  receiver subif  ${sim.receiver.subif}`,
      `  receiver mgmtif ${sim.receiver.mgmtif}`,
      `  accounts: ${accounts}${options.accounts?.includes(DEMO_ACCOUNT) ? ' (pass "demo", all permissions)' : ''}`,
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sim.close();
}

/** Registers `sim`. */
export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description(
      'run the embedded DDMW simulator (a sender and a receiver node) and print its addresses',
    )
    .option(
      '--sim-config <file>',
      'simulator settings (TOML: host, ports, accounts, link, push, ...)',
    )
    .option('--log', 'log connections and requests to stderr')
    .action(action<SimFlags>(runSim));
}
