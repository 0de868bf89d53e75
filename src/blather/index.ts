/**
 * blather: the line-based telegram codec DDMW speaks. Wire format only: no
 * sockets and no DDMW knowledge (wire-protocol.md).
 *
 * @module
 */
export { type BlockOptions, decodeKVLines, decodeParams } from './block.ts';
export { encodeKVLines, encodeParams, encodeTelegram, telegramText } from './encode.ts';
export { type FedReadable, fedReadable } from './fed-readable.ts';
export { KVLines } from './kvlines.ts';
export {
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_MAX_PARAMS,
  DEFAULT_MAX_TELEGRAM_BYTES,
  type FrameReaderOptions,
} from './limits.ts';
export { Params, type ParamsInit, type ParamValue } from './params.ts';
export { byteCount, FrameReader, type TelegramCallback } from './reader.ts';
export {
  type ByteSource,
  type ByteSourceLike,
  type ChunkCallback,
  toByteSource,
} from './source.ts';
export { Telegram } from './telegram.ts';
export { validateKey, validateTopic, validateValue } from './validate.ts';
export {
  type BigIntRange,
  I32,
  I64,
  type IntRange,
  SAFE_INT,
  U8,
  U16,
  U32,
  U64,
} from './values.ts';
