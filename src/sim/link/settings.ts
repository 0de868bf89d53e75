/**
 * The options of the simulated one-way link: their types, defaults and
 * checks. Two transports carry the same frames (see docs/simulator.md,
 * "The one-way link"):
 *
 * - `stream` (the default): a bounded ring in memory shared with the
 *   receiving end's thread; the sending end waits while it is full, so
 *   nothing is ever lost by accident.
 * - `udp`: paced datagrams on loopback, as a physical diode behaves: the
 *   receiving end can be overrun, and loss is real (and reported).
 *
 * Faults are injected the same way in both: by the seeded models of
 * {@link LinkFaults} and by the `fault` callback.
 */
import { DdmwError } from '../../err.ts';

/** Which transport carries the link's frames. */
export type LinkTransport = 'stream' | 'udp';

/** Identifies one frame for a {@link LinkFault} hook. */
export interface DatagramInfo {
  /** Transfer number on the link: 1 for the first message sent, 2 for the next, ... */
  transfer: number;
  /** Sequence number of the frame in its transfer, from 0. */
  seq: number;
  /** Frames in the transfer. */
  count: number;
}

/**
 * Fault injection: called for every data frame (every copy, with
 * `redundancy`) before it is sent. `drop` leaves it out, `corrupt` flips
 * the bits of its last byte (so it fails its authentication check), anything
 * else sends it as it is.
 */
export type LinkFault = (datagram: DatagramInfo) => 'drop' | 'corrupt' | undefined;

/** A time window during which the link carries nothing, heartbeats included. */
export interface LinkDownWindow {
  /** Start, in milliseconds after the simulator started. */
  atMs: number;
  /** Length in milliseconds. */
  forMs: number;
}

/**
 * Seeded fault models. Every decision is drawn from the seed, the transfer
 * number, the frame's sequence number and its copy, so the same seed and
 * the same traffic give the same faults, in both transports, however the
 * frames of concurrent transfers interleave. Probabilities are 0 to 1.
 */
export interface LinkFaults {
  /** Seed of every draw. Default 1. */
  seed?: number;
  /** Probability that a frame copy is lost. */
  loss?: number;
  /**
   * Burst loss (a Gilbert-Elliott model, run over each transfer's frames):
   * `enter` is the probability of going from the good state to the bad one
   * after a frame, `leave` of coming back, `loss` the probability that a
   * frame copy is lost in the bad state (default 1).
   */
  burst?: BurstModel;
  /** Probability that a transfer loses its first frame. */
  startLoss?: number;
  /** Probability that a transfer loses its last frame. */
  endLoss?: number;
  /** Probability that a frame copy arrives with a flipped byte (it then fails authentication). */
  corrupt?: number;
  /** Probability that a frame copy is sent twice. */
  duplicate?: number;
  /** Probability that a frame is held back and sent after the next data frame. */
  reorder?: number;
  /** Windows during which the link is down (time based, so not reproducible to the frame). */
  down?: LinkDownWindow[];
}

/** The burst loss model (Gilbert-Elliott): two states, good and bad. */
export interface BurstModel {
  /** Probability of going from the good state to the bad one after a frame. */
  enter: number;
  /** Probability of going from the bad state back to the good one after a frame. */
  leave: number;
  /** Probability that a frame copy is lost in the bad state. Default 1. */
  loss?: number;
}

/** Settings of the simulated one-way link. Every field is optional. */
export interface LinkOptions {
  /** `stream` (default, lossless) or `udp` (realistic: paced datagrams, real loss). */
  transport?: LinkTransport;
  /**
   * Pace of the sending end in bytes per second, frame overhead included;
   * `Infinity` for no pacing. Default: `Infinity` for `stream`, 256 MiB/s
   * for `udp`.
   */
  rateBytesPerSec?: number;
  /** Bytes per frame (per UDP datagram), 1024 to 65507. Default 64000. */
  datagramSize?: number;
  /** Each frame is sent this many times; the receiving end drops the copies. 1 to 8, default 1. */
  redundancy?: number;
  /** The sending end emits a heartbeat this often. Default 500 ms. */
  heartbeatMs?: number;
  /** The receiving end reports the link down after this many heartbeats missed in a row. Default 4. */
  heartbeatMisses?: number;
  /** Largest transfer (message) in bytes, metadata and payload together. Default 1 TiB. */
  maxTransferBytes?: number;
  /** Seeded fault models. */
  faults?: LinkFaults;
  /** A fault hook, called for each data frame before it is sent (see {@link LinkFault}). */
  fault?: LinkFault;
}

/** The link options, checked and with their defaults filled in. */
export interface LinkSettings {
  transport: LinkTransport;
  rateBytesPerSec: number;
  datagramSize: number;
  redundancy: number;
  heartbeatMs: number;
  heartbeatMisses: number;
  maxTransferBytes: number;
  faults: Required<Omit<LinkFaults, 'burst'>> & {
    burst: { enter: number; leave: number; loss: number } | undefined;
  };
  fault: LinkFault | undefined;
}

/**
 * Whether the link's frames are sealed (a tag of the per-start key over
 * each). Always over UDP: any process on the host can send datagrams to
 * the port. On the stream transport frames travel through memory that only
 * the link's two threads share, so nothing else can put a frame there; they
 * are sealed only when a fault may damage them (`faults.corrupt`, or a
 * `fault` hook, which may answer `corrupt`), for the receiving end to find
 * the damage, as it would on UDP.
 */
export function sealsFrames(settings: LinkSettings): boolean {
  return (
    settings.transport === 'udp' || settings.faults.corrupt > 0 || settings.fault !== undefined
  );
}

/** Largest UDP payload over IPv4, and so the largest frame. */
export const MAX_FRAME_SIZE = 65507;
/** Smallest frame size the link accepts: room for the fixed part, a header and the tag. */
export const MIN_FRAME_SIZE = 1024;
/** Default pace of the `udp` transport: 256 MiB/s. */
export const DEFAULT_UDP_RATE = 256 * 1024 * 1024;
/** Default frame size. */
export const DEFAULT_FRAME_SIZE = 64000;
/** Default heartbeat period. */
export const DEFAULT_HEARTBEAT_MS = 500;
/** Default heartbeats missed in a row before the link is reported down. */
export const DEFAULT_HEARTBEAT_MISSES = 4;
/** Default largest transfer: 1 TiB. */
export const DEFAULT_MAX_TRANSFER_BYTES = 2 ** 40;
const MAX_REDUNDANCY = 8;
/** Longest heartbeat period: 1 hour (timers misbehave beyond 2^31-1 ms). */
const MAX_HEARTBEAT_MS = 3_600_000;
/** Smallest `maxTransferBytes` (64 KiB): stream segments are cut to fit it. */
const MIN_MAX_TRANSFER_BYTES = 64 * 1024;
/**
 * Largest `maxTransferBytes`: 3 TiB, so that a transfer of the smallest
 * frames (952 data bytes each) still numbers its frames in 32 bits.
 */
const MAX_MAX_TRANSFER_BYTES = 3 * 2 ** 40;

function bad(option: string, why: string, value: unknown): DdmwError {
  return new DdmwError('BAD_INPUT', `Simulator option link.${option} ${why}, got ${String(value)}`);
}

function number(
  option: string,
  value: unknown,
  def: number,
  check: (n: number) => boolean,
  why: string,
): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || Number.isNaN(value) || !check(value)) {
    throw bad(option, why, value);
  }
  return value;
}

/** A number option that has no default: missing is as bad as wrong. */
function required(
  option: string,
  value: unknown,
  check: (n: number) => boolean,
  why: string,
): number {
  if (value === undefined) throw bad(option, why, value);
  return number(option, value, 0, check, why);
}

const probability = (option: string, value: unknown) =>
  number(`faults.${option}`, value, 0, (n) => n >= 0 && n <= 1, 'must be a number from 0 to 1');

const integerIn = (min: number, max: number) => (n: number) =>
  Number.isInteger(n) && n >= min && n <= max;

function faultSettings(f: LinkFaults | undefined): LinkSettings['faults'] {
  if (f !== undefined && (typeof f !== 'object' || f === null))
    throw bad('faults', 'must be an object', f);
  const faults = f ?? {};
  const burst = faults.burst;
  if (burst !== undefined && (typeof burst !== 'object' || burst === null)) {
    throw bad('faults.burst', 'must be { enter, leave, loss? }', burst);
  }
  const down = faults.down ?? [];
  if (!Array.isArray(down)) throw bad('faults.down', 'must be a list of { atMs, forMs }', down);
  return {
    seed: number(
      'faults.seed',
      faults.seed,
      1,
      integerIn(0, 2 ** 32 - 1),
      'must be an integer from 0 to 2^32-1',
    ),
    loss: probability('loss', faults.loss),
    burst: burst && {
      enter: probability('burst.enter', burst.enter),
      leave: probability('burst.leave', burst.leave),
      loss: burst.loss === undefined ? 1 : probability('burst.loss', burst.loss),
    },
    startLoss: probability('startLoss', faults.startLoss),
    endLoss: probability('endLoss', faults.endLoss),
    corrupt: probability('corrupt', faults.corrupt),
    duplicate: probability('duplicate', faults.duplicate),
    reorder: probability('reorder', faults.reorder),
    down: down.map((w, i) => {
      if (typeof w !== 'object' || w === null)
        throw bad(`faults.down[${i}]`, 'must be { atMs, forMs }', w);
      const finite = (n: number) => Number.isFinite(n) && n >= 0;
      return {
        atMs: required(`faults.down[${i}].atMs`, w.atMs, finite, 'must be 0 or more'),
        forMs: required(`faults.down[${i}].forMs`, w.forMs, finite, 'must be 0 or more'),
      };
    }),
  };
}

/** Checks the link options and fills in defaults. Throws `BAD_INPUT`. */
export function linkSettings(link: LinkOptions | undefined): LinkSettings {
  if (link !== undefined && (typeof link !== 'object' || link === null)) {
    throw new DdmwError(
      'BAD_INPUT',
      `Simulator option link must be an object, got ${String(link)}`,
    );
  }
  const o = link ?? {};
  const transport = o.transport ?? 'stream';
  if (transport !== 'stream' && transport !== 'udp') {
    throw bad('transport', "must be 'stream' or 'udp'", transport);
  }
  if (o.fault !== undefined && typeof o.fault !== 'function') {
    throw bad('fault', 'must be a function', o.fault);
  }
  const positive = (n: number) => n > 0;
  return {
    transport,
    rateBytesPerSec: number(
      'rateBytesPerSec',
      o.rateBytesPerSec,
      transport === 'udp' ? DEFAULT_UDP_RATE : Number.POSITIVE_INFINITY,
      positive,
      'must be a positive number (Infinity for no pacing)',
    ),
    datagramSize: number(
      'datagramSize',
      o.datagramSize,
      DEFAULT_FRAME_SIZE,
      integerIn(MIN_FRAME_SIZE, MAX_FRAME_SIZE),
      `must be an integer from ${MIN_FRAME_SIZE} to ${MAX_FRAME_SIZE}`,
    ),
    redundancy: number(
      'redundancy',
      o.redundancy,
      1,
      integerIn(1, MAX_REDUNDANCY),
      `must be an integer from 1 to ${MAX_REDUNDANCY}`,
    ),
    heartbeatMs: number(
      'heartbeatMs',
      o.heartbeatMs,
      DEFAULT_HEARTBEAT_MS,
      (n) => n > 0 && n <= MAX_HEARTBEAT_MS,
      `must be a positive number of at most ${MAX_HEARTBEAT_MS} (1 hour)`,
    ),
    heartbeatMisses: number(
      'heartbeatMisses',
      o.heartbeatMisses,
      DEFAULT_HEARTBEAT_MISSES,
      integerIn(1, 1000),
      'must be an integer from 1 to 1000',
    ),
    maxTransferBytes: number(
      'maxTransferBytes',
      o.maxTransferBytes,
      DEFAULT_MAX_TRANSFER_BYTES,
      integerIn(MIN_MAX_TRANSFER_BYTES, MAX_MAX_TRANSFER_BYTES),
      `must be an integer from ${MIN_MAX_TRANSFER_BYTES} to ${MAX_MAX_TRANSFER_BYTES}`,
    ),
    faults: faultSettings(o.faults),
    fault: o.fault,
  };
}
