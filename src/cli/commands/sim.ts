/** `ddmw sim`: runs the embedded simulator until interrupted. */
import type { Command } from 'commander';
import { startSimulator } from '../../sim/index.ts';
import { action } from '../action.ts';
import { clientConfigToml, writeClientConfig } from '../client-config.ts';
import type { Context } from '../context.ts';
import { DEMO_ACCOUNT, inSimConfig, readSimConfig } from '../sim-config.ts';
import { describeLink, isLossLine, reportLoss } from '../sim-report.ts';

interface SimFlags {
  simConfig?: string;
  log?: boolean;
  writeConfig?: string;
  force?: boolean;
}

const stderrLine = (line: string) => process.stderr.write(`${line}\n`);

async function runSim(ctx: Context, o: SimFlags): Promise<void> {
  // Listening before anything is printed: whoever reads the banner may stop us at once.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const config = await readSimConfig(o.simConfig);
  for (const warning of config.warnings) stderrLine(`ddmw sim: warning: ${warning}`);
  const { options } = config;
  // Loss and link lines come from the events below, --log or not.
  if (o.log) {
    options.log = (line) => {
      if (!isLossLine(line)) stderrLine(line);
    };
  }
  const file = o.simConfig;
  const sim = await startSimulator(options).catch((err: unknown) => {
    throw file === undefined ? err : inSimConfig(file, err);
  });
  reportLoss(sim, stderrLine);
  try {
    const link = describeLink(options.link);
    const clientConfig = clientConfigToml(
      sim,
      config.demo ? DEMO_ACCOUNT : undefined,
      config.accounts,
    );
    if (o.writeConfig !== undefined) {
      await writeClientConfig(o.writeConfig, clientConfig, o.force === true);
    }
    ctx.print(
      { sender: sim.sender, receiver: sim.receiver, ...link, clientConfig },
      [
        'DDMW simulator running (Ctrl-C to stop)',
        `  sender   msgif  ${sim.sender.msgif}`,
        `  sender   mgmtif ${sim.sender.mgmtif}`,
        `  receiver subif  ${sim.receiver.subif}`,
        `  receiver mgmtif ${sim.receiver.mgmtif}`,
        `  accounts: ${config.accounts}`,
        `  link: ${link.link}`,
        ...(link.faults === undefined ? [] : [`  faults: ${link.faults}`]),
        o.writeConfig === undefined
          ? '  client config (--write-config <file> writes it):'
          : `  client config, written to ${o.writeConfig}:`,
        '',
        clientConfig.trimEnd(),
      ].join('\n'),
    );
  } catch (err) {
    await sim.close();
    throw err;
  }
  await stopped;
  await sim.close();
}

/** Registers `sim`. */
export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description(
      'run the embedded DDMW simulator (a sender and a receiver node), print its addresses and a client config',
    )
    .option(
      '--sim-config <file>',
      'simulator settings (TOML: host, ports, accounts, link, push, ...; see docs/sim-config.md)',
    )
    .option('--log', 'log connections and requests to stderr (loss is always reported)')
    .option('--write-config <file>', 'write the client ddmwapp.toml for this simulator (mode 0600)')
    .option('--force', 'let --write-config overwrite an existing file')
    .action(action<SimFlags>(runSim));
}
