/**
 * Counters of what the simulator did with messages, from the sender's
 * message interface over the link to the receiver's subscribers and push
 * targets. `sim.stats()` returns a copy.
 */

/** Message counters of a simulator. All start at 0 and only grow. */
export interface SimulatorStats {
  /** `Msg` requests whose metadata and payload were received in full: committed for the link. */
  msgsAccepted: number;
  /** `Msg` requests answered with `Fail` (no permission, bad parameters, too large, no room in the spool). */
  msgsRejected: number;
  /** `Msg` uploads and streams aborted before all bytes arrived (disconnected, stalled, right revoked, `StrmAbort`): discarded. */
  msgsAborted: number;
  /** Transfers whose last frame has left the sending end of the link. */
  transfersSent: number;
  /** Frames put on the link (copies, duplicates and corrupted ones included). */
  framesSent: number;
  /** Frames the fault models (or a `fault` hook, or a down window) dropped instead of sending. */
  framesDropped: number;
  /** Transfers the receiving end got whole and authentic and handed to the receiver node. */
  transfersDelivered: number;
  /** Transfers that never completed: frames of them missing (dropped, overrun, link down). */
  transfersLost: number;
  /** Transfers lost with a frame that failed authentication, or whose header was unreadable. */
  transfersCorrupt: number;
  /** Transfers whose upload failed at the sender node: discarded by the receiving end. */
  transfersAborted: number;
  /** Frames the receiving end ignored: copies, and frames of transfers already over. */
  framesIgnored: number;
  /** Frames the receiving end rejected: forged, damaged or malformed (not from this link's sending end). */
  framesRejected: number;
  /** Times the link was reported down (heartbeats missed). */
  linkDowns: number;
  /** Messages written in full to a subscriber's connection. */
  deliveries: number;
  /** Messages that arrived while no subscriber and no push target wanted their channel. */
  droppedNoSubscriber: number;
  /** Messages that arrived while the receiver node was down (see `restartReceiver`). */
  droppedReceiverDown: number;
  /** Subscribers disconnected because their queue overflowed. */
  slowSubscribersDropped: number;
  /** Subscriptions ended because their account lost the right to a channel (revoked, locked, removed). */
  subscriptionsRevoked: number;
  /** Messages a push target acknowledged with `Ok`. */
  pushesAcked: number;
  /** Messages a push target answered with `Fail` (or with something else than `Ok`). */
  pushesFailed: number;
  /** Messages not queued for a push target because its queue was full. */
  pushesDropped: number;
  /** `Auth` requests that failed: unknown name, wrong passphrase, unknown token, locked account. */
  authFailed: number;
  /** `Auth` requests refused without a check: too many passphrase checks waiting, or the account name throttled. */
  authRefused: number;
  /** Connections closed at once because their interface had its most connections open, all logged in. */
  connectionsRefused: number;
  /** Connections not logged in, closed to make room for a new one on their full interface. */
  connectionsEvicted: number;
  /** Connections closed because they did not log in in time, or a request of theirs stalled. */
  connectionsTimedOut: number;
}

/** A fresh set of counters, all zero. */
export function newStats(): SimulatorStats {
  return {
    msgsAccepted: 0,
    msgsRejected: 0,
    msgsAborted: 0,
    transfersSent: 0,
    framesSent: 0,
    framesDropped: 0,
    transfersDelivered: 0,
    transfersLost: 0,
    transfersCorrupt: 0,
    transfersAborted: 0,
    framesIgnored: 0,
    framesRejected: 0,
    linkDowns: 0,
    deliveries: 0,
    droppedNoSubscriber: 0,
    droppedReceiverDown: 0,
    slowSubscribersDropped: 0,
    subscriptionsRevoked: 0,
    pushesAcked: 0,
    pushesFailed: 0,
    pushesDropped: 0,
    authFailed: 0,
    authRefused: 0,
    connectionsRefused: 0,
    connectionsEvicted: 0,
    connectionsTimedOut: 0,
  };
}
