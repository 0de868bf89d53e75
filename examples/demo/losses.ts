/**
 * The simulator's own view of what it lost: every `loss` event it emits
 * (a transfer lost, corrupt, aborted or discarded on its way, with its
 * transfer id, channel, size and why), kept from the moment it started.
 */
import { describeLoss, type LossEvent, type Simulator } from '../../src/sim/index.ts';

const losses = new WeakMap<Simulator, LossEvent[]>();

/** Starts keeping the simulator's loss events. */
export function recordLosses(sim: Simulator): void {
  const list: LossEvent[] = [];
  losses.set(sim, list);
  sim.on('loss', (e) => list.push(e));
}

/** Why the demo should stop because of a loss, or undefined while the simulator reported none. */
export function simulatorLoss(sim: Simulator): string | undefined {
  const first = losses.get(sim)?.[0];
  return first === undefined ? undefined : `the simulator reported a ${describeLoss(first)}`;
}

/** Prints every loss the simulator reported (on stderr). */
export function reportSimulatorLosses(sim: Simulator): void {
  const list = losses.get(sim) ?? [];
  if (list.length === 0) console.error('the simulator reported no loss');
  for (const e of list) console.error(`the simulator reported a ${describeLoss(e)}`);
}
