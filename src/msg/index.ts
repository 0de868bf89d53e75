/**
 * Messages: sending to the sender node's message interface, and receiving
 * from the receiver node's subscription interface (one at a time, in a
 * loop, as an async iterator, through a resubscribing subscription, or
 * pushed by the node to a listening application).
 *
 * @module
 */

export { DEFAULT_MAX_BUFFERED } from './choose.ts';
export { type LoopOptions, messages, type OnSkipped, recvLoop, warnSkipped } from './loop.ts';
export { MsgError, type MsgErrorInfo } from './msg-error.ts';
export { listenPush, type PushListener, type PushOptions } from './push.ts';
export { type RecvOptions, type RecvStreamsOptions, recv, subscribe } from './recv.ts';
export { type ConnsendOptions, connsend, type SendOptions, send } from './send.ts';
export {
  DEFAULT_RETRIES,
  DEFAULT_RETRY_DELAY_MS,
  type SubscriptionOptions,
  type SubscriptionStatus,
  subscription,
} from './subscription.ts';
export type {
  Input,
  Msg,
  MsgInfo,
  MsgSpec,
  Storage,
  StoreChoice,
  StoreQ,
  StoreType,
} from './types.ts';
