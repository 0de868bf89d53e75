/**
 * One run of a simulator figure: a fresh simulator (so that one run's
 * transfers never queue behind another's), a deadline for the whole run,
 * and everything the run opened closed on every path. A failure's message
 * gets the simulator's loss counters, found by name (their names may change).
 */
import { type Connection, connect } from '../src/conn/index.ts';
import { type LinkOptions, type Simulator, startSimulator } from '../src/sim/index.ts';
import { within } from './deadline.ts';

/** The account every figure logs in with. */
export const APP = { name: 'bench', pass: 'bench-pass' };

/** Names of the counters that count something lost on its way. */
const LOSS = /lost|corrupt|aborted|rejected|dropped|discarded/i;

/** The simulator's non-zero loss counters. */
function losses(sim: Simulator): [string, number][] {
  return Object.entries(sim.stats()).filter(
    (e): e is [string, number] => LOSS.test(e[0]) && typeof e[1] === 'number' && e[1] > 0,
  );
}

/** The sum of the simulator's loss counters. */
export function lossCount(sim: Simulator): number {
  return losses(sim).reduce((sum, [, n]) => sum + n, 0);
}

/** How a run goes. */
export interface RunOptions {
  /** The simulator's link; default: the simulator's default link. */
  link?: LinkOptions;
  /** Deadline of the whole run (see deadline.ts). */
  deadlineMs: number;
  /** What the run waits for, and how far it got, for the failure message. */
  what: () => string;
  /** The run waits for a transfer to arrive: give up as soon as the simulator counts a loss. */
  arrival?: boolean;
}

/** What a run gets besides the simulator. */
export interface RunTools {
  /** Connects and logs in as {@link APP}; the connection is closed when the run ends. */
  connect(addr: string): Promise<Connection>;
  /**
   * Registers a cleanup (it must not throw), run when the run ends, last
   * registered first, before the simulator closes.
   */
  defer(cleanup: () => unknown): void;
}

/** Runs `work` against a fresh simulator within the deadline; see the file's header. */
export async function withSim<T>(
  options: RunOptions,
  work: (sim: Simulator, tools: RunTools) => Promise<T>,
): Promise<T> {
  const { link, deadlineMs, what, arrival } = options;
  const sim = await startSimulator({
    accounts: [{ ...APP, perms: ['*'] }],
    ...(link === undefined ? {} : { link }),
  });
  const cleanups: (() => unknown)[] = [];
  const tools: RunTools = {
    async connect(addr) {
      const conn = await connect(addr, { auth: APP });
      cleanups.push(() => conn.close());
      return conn;
    },
    defer: (cleanup) => cleanups.push(cleanup),
  };
  const giveUp = () => (lossCount(sim) > 0 ? 'the simulator counted a loss' : undefined);
  try {
    return await within(deadlineMs, what, work(sim, tools), arrival ? giveUp : undefined);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const found = losses(sim).map(([k, n]) => `${k}=${n}`);
    if (found.length === 0) throw err;
    throw new Error(`${message}; simulator loss counters: ${found.join(', ')}`, { cause: err });
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await sim.close();
  }
}
