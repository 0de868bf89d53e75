/** Helpers of the queue-limit tests: a simulator with its log, and waits that report what the link did. */
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/sim/index.ts';
import { waitFor } from '../helpers/deadline.ts';
import { WireClients } from './wire-client.ts';

const ALL = { name: 'all', pass: 'pw' };
export const MiB = 1024 * 1024;

/** A simulator, its log and its clients, all closed by `stop()`. */
export async function setup(options: SimulatorOptions) {
  const log: string[] = [];
  const sim = await startSimulator({
    accounts: [{ ...ALL, perms: ['*'] }],
    log: (line) => log.push(line),
    ...options,
  });
  const clients = new WireClients();
  const stop = async () => {
    clients.destroyAll();
    await sim.close();
  };
  const spoolLine = log.find((line) => line.startsWith('spool folder '));
  return {
    sim,
    log,
    /** The simulator's spool folder, as it logged it at start. */
    spoolDir: spoolLine?.slice('spool folder '.length) ?? '',
    /** A connection to `address`, not logged in. */
    open: (address: string) => clients.open(address),
    sender: () => clients.open(sim.sender.msgif, ALL),
    subscriber: (ch: string | number) => clients.subscriber(sim.receiver.subif, ch, ALL),
    stop,
  };
}

/** What the link did, for failure messages: a lost transfer means a message that never arrives. */
export function linkReport(sim: Simulator): string {
  const s = sim.stats();
  return `link: ${s.transfersSent} sent, ${s.transfersDelivered} delivered, ${s.transfersLost} lost, ${s.transfersCorrupt} corrupt`;
}

/** Polls `check`; fails after `ms` naming `what` and what the link did. */
export function until(sim: Simulator, what: string, check: () => boolean, ms = 10_000) {
  return waitFor(what, check, ms, () => linkReport(sim));
}
