/**
 * File transfer: a file sent as one message, its metadata a params block
 * (relative path, size, mode, modification time, SHA-256), its content the
 * payload; received under a folder through a partial file, checked, and
 * moved into place. Hostile paths are refused, never written.
 *
 * @module
 */
export {
  decodeFileMeta,
  encodeFileMeta,
  FILE_FORMAT,
  type FileMeta,
  fileMetaProblem,
  isFileMeta,
  MAX_FILE_META_BYTES,
} from './meta.ts';
export {
  type ReceiveEvent,
  type ReceiveOptions,
  type ReceiveSummary,
  receiveFiles as receive,
} from './receive.ts';
export { MAX_DEPTH, MAX_NAME_BYTES, MAX_PATH_BYTES, pathProblem } from './safe-path.ts';
export { type SendFileOptions, type SentFile, sendFile as send } from './send.ts';
export {
  fileStoreq as storeq,
  type StoredFile,
  type StoreFileOptions,
  storeFile as store,
} from './store.ts';
