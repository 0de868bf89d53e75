/**
 * Streams: data of a length not known up front (audio, video, logs), sent
 * with {@link open} and received, between messages, as {@link StreamEvent}s
 * from `msg.recv` / `msg.messages` with `{ streams: true }`. The wire
 * format is ours and provisional (docs/streams.md); it lives in wire.ts.
 *
 * @module
 */
export { READ_AHEAD, type StreamEvent } from './recv.ts';
export {
  DEFAULT_HIGH_WATER_MARK,
  type OpenOptions,
  open,
  StreamWriter,
  type StrmSpec,
} from './send.ts';
export { KEYS, TOPICS } from './wire.ts';
