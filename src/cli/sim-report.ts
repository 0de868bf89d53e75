/**
 * What `ddmw sim` tells its user about the link: a summary for the startup
 * banner, and one stderr line per lost transfer and per link state change,
 * with or without `--log`.
 */
import { describeLoss, type LinkOptions, type Simulator } from '../sim/index.ts';
import { linkSettings } from '../sim/link/settings.ts';
import { kebab } from './sim-config-keys.ts';

/** `268435456` -> `256 MiB/s`. */
function rate(bytesPerSec: number): string {
  if (!Number.isFinite(bytesPerSec)) return 'unpaced';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytesPerSec;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(2))} ${units[unit]}/s`;
}

/** The active fault models, e.g. `seed 7, loss 0.01, 2 down windows`; empty when none. */
function faultSummary(faults: ReturnType<typeof linkSettings>['faults']): string[] {
  const { seed, burst, down, ...probabilities } = faults;
  const parts = Object.entries(probabilities)
    .filter(([, p]) => p > 0)
    .map(([name, p]) => `${kebab(name)} ${p}`);
  if (burst) parts.push(`burst (enter ${burst.enter}, leave ${burst.leave}, loss ${burst.loss})`);
  if (down.length > 0) parts.push(`${down.length} down window${down.length > 1 ? 's' : ''}`);
  return parts.length > 0 ? [`seed ${seed}`, ...parts] : [];
}

/** The link and its fault models, in words for the banner. */
export interface LinkSummary {
  /** E.g. `stream (lossless)`, `udp, 256 MiB/s, redundancy 2`. */
  link: string;
  /** E.g. `seed 7, loss 0.01, 2 down windows`; absent when no fault model is on. */
  faults?: string;
}

/** Summarizes link options that `startSimulator` accepted. */
export function describeLink(options: LinkOptions | undefined): LinkSummary {
  const s = linkSettings(options);
  const faults = faultSummary(s.faults);
  const parts: string[] = [s.transport];
  if (Number.isFinite(s.rateBytesPerSec) || s.transport === 'udp') {
    parts.push(rate(s.rateBytesPerSec));
  }
  if (s.redundancy > 1) parts.push(`redundancy ${s.redundancy}`);
  const lossless = s.transport === 'stream' && faults.length === 0 ? ' (lossless)' : '';
  const link = `${parts.join(', ')}${lossless}`;
  return faults.length > 0 ? { link, faults: faults.join(', ') } : { link };
}

/** Writes one line per `loss` and per `link` event of `sim`. */
export function reportLoss(sim: Simulator, write: (line: string) => void): void {
  sim.on('loss', (e) => write(`loss: ${describeLoss(e)}`));
  sim.on('link', (e) => write(`link: ${e.state}: ${e.reason}`));
}

/** The simulator's log copies of the lines of {@link reportLoss}; `--log` leaves them out. */
export function isLossLine(line: string): boolean {
  return /^(loss: |link: (up|down): )/.test(line);
}
