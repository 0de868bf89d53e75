/**
 * The bounds of a subscriber's or push target's queue, in messages and in
 * bytes. Only what waits counts, not the message being written. A message
 * that finds nothing waiting is always taken, whatever its size, so one
 * large message never trips the byte bound. A stream waiting in a
 * subscriber's queue counts what it has buffered so far, which grows.
 */

/** How many messages, and how many bytes of them, may wait for one subscriber or push target. */
export interface QueueLimits {
  /** Most messages waiting at once. */
  queueLimit: number;
  /** Most bytes (metadata + payload, in memory or spooled) of the messages waiting at once. */
  queueLimitBytes: number;
}

/** What waits in a queue. */
export interface QueueLoad {
  /** Messages (and streams) waiting. */
  count: number;
  /** Their bytes. */
  bytes: number;
}

/**
 * Why one more message of `size` bytes may not wait behind `load`: the limit
 * it would exceed, in words for logs and `Fail` reasons; `undefined` when
 * it may.
 */
export function queueRefusal(
  limits: QueueLimits,
  load: QueueLoad,
  size: number,
): string | undefined {
  if (load.count === 0) return undefined;
  if (load.count >= limits.queueLimit) {
    return `${load.count} messages waiting reach queueLimit (${limits.queueLimit})`;
  }
  if (load.bytes + size > limits.queueLimitBytes) {
    return (
      `${load.count} messages of ${load.bytes} bytes waiting, ${size} more would exceed ` +
      `queueLimitBytes (${limits.queueLimitBytes})`
    );
  }
  return undefined;
}

/**
 * Why `load`, grown while it waits (a waiting stream buffered more), is
 * over queueLimitBytes; `undefined` when it is not, or when only one
 * message or stream waits (like a message that found nothing waiting).
 */
export function grownOver(limits: QueueLimits, load: QueueLoad): string | undefined {
  if (load.count < 2 || load.bytes <= limits.queueLimitBytes) return undefined;
  return (
    `${load.count} messages and streams of ${load.bytes} bytes waiting exceed ` +
    `queueLimitBytes (${limits.queueLimitBytes})`
  );
}
