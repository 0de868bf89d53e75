/**
 * The events a running simulator emits (it is an `EventEmitter`): every
 * transfer that is lost, corrupt, aborted or discarded, and every change of
 * the link's state. They are emitted whether or not a `log` option is
 * given, so loss is never silent.
 */

/** Why a transfer did not reach (every) application. */
export type LossKind =
  /** Frames of it never arrived (dropped by a fault, overrun, or the link was down). */
  | 'lost'
  /** It arrived damaged: a frame failed its authentication check, or its header was unreadable. */
  | 'corrupt'
  /** Its upload failed midway at the sender node: the receiving end discarded it. */
  | 'aborted'
  /** It arrived whole but the receiver node dropped it (no subscriber, node down, bad header). */
  | 'discarded';

/** One transfer that did not reach its applications. */
export interface LossEvent {
  /** What happened to it. */
  kind: LossKind;
  /** Transfer number on the link (1, 2, ...). */
  transfer: number;
  /** The message's (or stream's) transfer id, when known. */
  xferId: string | undefined;
  /** Its channel (canonical text), when known. */
  ch: string | undefined;
  /** Bytes of data (metadata plus payload, or one stream segment), when known. */
  size: number | undefined;
  /** What it was: a message or a stream part, when known. */
  what: 'message' | 'stream' | undefined;
  /** Why, in a sentence. */
  reason: string;
}

/** The link went down (heartbeats missed) or came back up. */
export interface LinkStateEvent {
  /** The link's new state. */
  state: 'down' | 'up';
  /** Why, in a sentence. */
  reason: string;
}

/** The events of a simulator, for `sim.on(name, listener)`. */
export interface SimulatorEvents {
  /** A transfer was lost, corrupt, aborted or discarded. */
  loss: [LossEvent];
  /** The link's state changed (heartbeats, see `link.heartbeatMs`). */
  link: [LinkStateEvent];
}

/** The one-line text of a loss, as `ddmw sim` prints it. */
export function describeLoss(e: LossEvent): string {
  const what = e.what ?? 'transfer';
  const id = e.xferId === undefined ? '' : ` ${e.xferId}`;
  const ch = e.ch === undefined ? '' : ` on channel ${e.ch}`;
  const size = e.size === undefined ? '' : ` (${e.size} bytes)`;
  return `${e.kind}: ${what}${id}${ch}${size}, link transfer ${e.transfer}: ${e.reason}`;
}
