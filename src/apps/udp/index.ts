/**
 * UDP pass-through: datagrams taken on one side of the diode, carried in
 * batches (one message each, order kept), and sent on from the other side,
 * with counters of what came in, went out and was lost.
 *
 * @module
 */
export {
  type BatchHeader,
  checkDatagrams,
  datagramsOf,
  decodeBatchHeader,
  encodeBatchHeader,
  encodeDatagrams,
  MAX_BATCH_BYTES,
  MAX_BATCH_DATAGRAMS,
  MAX_DATAGRAM,
  UDP_FORMAT,
} from './batch.ts';
export {
  emitUdp as receive,
  type UdpReceiveCounters,
  type UdpReceiveEvent,
  type UdpReceiveOptions,
} from './receive.ts';
export {
  forwardUdp as send,
  type UdpForwarder,
  type UdpSendCounters,
  type UdpSendOptions,
} from './send.ts';
