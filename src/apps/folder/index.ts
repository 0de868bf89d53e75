/**
 * Folder transfer: every file of a folder tree sent as a file transfer
 * (see `file`), once or watching for new files, with a journal that makes a
 * restart neither send again nor skip; received under a folder at the same
 * relative paths.
 *
 * @module
 */
export {
  type ReceiveEvent,
  type ReceiveOptions,
  type ReceiveSummary,
  receive,
} from '../files/index.ts';
export { JOURNAL_NAME } from './journal.ts';
export {
  type After,
  DEFAULT_IGNORE,
  type FolderSendEvent,
  type FolderSendOptions,
  type FolderSendSummary,
  sendFolder as send,
} from './send.ts';
