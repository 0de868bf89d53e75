/**
 * Counters of what the simulator did with messages, from the sender's
 * message interface over the link to the receiver's subscribers and push
 * targets. `sim.stats()` returns a copy.
 */

/** Message counters of a simulator. All start at 0 and only grow. */
export interface SimulatorStats {
  /** `Msg` requests whose metadata and payload were received in full: committed for the link. */
  msgsAccepted: number;
  /** `Msg` requests answered with `Fail` (no permission, bad parameters, storage failure). */
  msgsRejected: number;
  /** `Msg` requests whose client disconnected before all bytes arrived: discarded. */
  msgsAborted: number;
  /** Transfers whose last datagram has left the sending end of the link. */
  transfersSent: number;
  /** Datagrams sent over the link (including those a `fault` hook corrupted). */
  datagramsSent: number;
  /** Datagrams a `fault` hook dropped instead of sending. */
  datagramsDropped: number;
  /** Transfers the receiving end got whole, with a matching sha-256, and handed to the receiver node. */
  transfersDelivered: number;
  /** Transfers that never completed: a datagram missing for longer than the link timeout, or none of them seen. */
  transfersLost: number;
  /** Transfers that completed but whose sha-256 did not match, or whose header was unreadable. */
  transfersCorrupt: number;
  /** Datagrams the receiving end ignored: malformed, duplicate or late (their transfer was already over). */
  datagramsIgnored: number;
  /** Messages written in full to a subscriber's connection. */
  deliveries: number;
  /** Messages that arrived while no subscriber and no push target wanted their channel. */
  droppedNoSubscriber: number;
  /** Messages that arrived while the receiver node was down (see `restartReceiver`). */
  droppedReceiverDown: number;
  /** Subscribers disconnected because their queue overflowed. */
  slowSubscribersDropped: number;
  /** Messages a push target acknowledged with `Ok`. */
  pushesAcked: number;
  /** Messages a push target answered with `Fail` (or with something else than `Ok`). */
  pushesFailed: number;
  /** Messages not queued for a push target because its queue was full. */
  pushesDropped: number;
}

/** A fresh set of counters, all zero. */
export function newStats(): SimulatorStats {
  return {
    msgsAccepted: 0,
    msgsRejected: 0,
    msgsAborted: 0,
    transfersSent: 0,
    datagramsSent: 0,
    datagramsDropped: 0,
    transfersDelivered: 0,
    transfersLost: 0,
    transfersCorrupt: 0,
    datagramsIgnored: 0,
    deliveries: 0,
    droppedNoSubscriber: 0,
    droppedReceiverDown: 0,
    slowSubscribersDropped: 0,
    pushesAcked: 0,
    pushesFailed: 0,
    pushesDropped: 0,
  };
}
