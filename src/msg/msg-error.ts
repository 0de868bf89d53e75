/**
 * `MsgError`: a message that arrived but could not be received as asked.
 */
import { closesConnection } from '../conn/connection.ts';
import { DdmwError } from '../err.ts';

/** What is known of a message whose header was read (a field is `undefined` when it did not parse). */
export interface MsgErrorInfo {
  /** Transfer id, if the header had one. */
  xferId: string | undefined;
  /** Application command number, if it parsed. */
  cmd: number | undefined;
  /** Channel, as the node names it. */
  ch: string | undefined;
}

/**
 * A message that arrived but could not be received as asked: its header
 * does not parse, the store chosen for it is refused, a part does not parse
 * as asked, its file cannot be written. Its `code` is that of the cause
 * (`BAD_PARAMS`, `BAD_INPUT`, `IO`, ...), and `cause` is the original error.
 *
 * When {@link MsgError.skipped} is true, every byte of the message was read
 * and dropped (and any file stored for it removed): the connection is
 * positioned at the next message, and the receive loops go on with it.
 * When false, the connection was closed: the message's length fields did
 * not parse (its bytes cannot be skipped, and are never read as a
 * telegram), or the connection was lost or aborted under it.
 */
export class MsgError extends DdmwError {
  /** Transfer id, if the header had one. */
  readonly xferId: string | undefined;
  /** Application command number, if it parsed. */
  readonly cmd: number | undefined;
  /** Channel, as the node names it. */
  readonly ch: string | undefined;
  /** The message was read to its end and dropped; the connection is still usable. */
  readonly skipped: boolean;

  constructor(info: MsgErrorInfo, cause: DdmwError, skipped: boolean) {
    const cmd = info.cmd === undefined ? '' : `, cmd ${info.cmd}`;
    const what = `Message ${info.xferId ?? '(no XferId)'} (channel ${info.ch ?? '?'}${cmd})`;
    const outcome = skipped ? 'was skipped' : 'could not be skipped; the connection was closed';
    // A skipped message leaves the connection open: never a code that would close it.
    const code = skipped && closesConnection(cause) ? 'IO' : cause.code;
    super(code, `${what} ${outcome}: ${cause.message}`, {
      cause,
      params: cause.params,
    });
    this.name = 'MsgError';
    this.xferId = info.xferId;
    this.cmd = info.cmd;
    this.ch = info.ch;
    this.skipped = skipped;
  }
}
