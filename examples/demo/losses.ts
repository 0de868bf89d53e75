/**
 * The simulator's own view of what it lost, from its counters
 * (`sim.stats()`). Counter names are changing, so loss counters are found
 * by name pattern rather than listed. This is the one place to extend when
 * the simulator emits `'loss'` events (`LossEvent`, formatted by
 * `describeLoss`, see src/sim/events.ts).
 */
import type { Simulator } from '../../src/sim/index.ts';

/** Names of counters that count something lost on the way. */
const LOSS_COUNTER = /lost|corrupt|aborted|rejected|dropped|discarded/i;

/** The loss counters that are not zero, as `name=value`. A new simulator's counters are all 0. */
function lossCounters(sim: Simulator): string[] {
  return Object.entries(sim.stats())
    .filter(([name, value]) => LOSS_COUNTER.test(name) && typeof value === 'number' && value > 0)
    .map(([name, value]) => `${name}=${value}`);
}

/** Why the demo should stop because of a loss, or undefined while the simulator counted none. */
export function simulatorLoss(sim: Simulator): string | undefined {
  const counters = lossCounters(sim);
  return counters.length === 0 ? undefined : `the simulator counted ${counters.join(', ')}`;
}

/** Prints the simulator's loss counters (on stderr). */
export function reportSimulatorLosses(sim: Simulator): void {
  const counters = lossCounters(sim);
  console.error(
    `the simulator's loss counters: ${counters.length === 0 ? `all 0 (those matching ${LOSS_COUNTER})` : counters.join(', ')}`,
  );
}
