/**
 * `Msg` on the sender node's message interface: the client announces a
 * message, gets a transfer id, sends its metadata and payload, and once the
 * last part is in the message is handed to the one-way link. A message
 * larger than the node accepts, or than the spool has room for, is refused
 * before the client sends a byte of it. One whose account loses the right
 * to send on its channel while it is uploaded is refused (`Fail`, after the
 * part being sent) and aborted on the link.
 *
 * ```
 * C: Msg _Ch [Cmd] [MetaLen] [Len]   S: Ok XferId   (or Fail: the client sends nothing)
 * C: <MetaLen bytes>                 S: Ok          (only when MetaLen > 0)
 * C: <Len bytes>                     S: Ok          (only when Len > 0)
 * ```
 */
import { randomUUID } from 'node:crypto';
import { encodeTelegram, Params, type Telegram, U32, U64 } from '../../blather/index.ts';
import type { OutgoingTransfer } from '../link/outgoing.ts';
import type { LinkSender } from '../link/sender.ts';
import { deniedReason, mayUse, parseChannel, sendRevokedReason } from '../node/channels.ts';
import { type MsgHeader, msgTelegram } from '../node/message.ts';
import { CommandFailed, type CommandHandler, type Session } from '../node/session.ts';
import type { Release, SpoolSpace } from '../node/spool-space.ts';
import type { SimulatorStats } from '../stats.ts';

/** What the `Msg` command needs from the sender node. */
export interface MsgifContext {
  /** Where messages go, as they arrive (cut-through). */
  link: LinkSender;
  /** Largest message, metadata and payload together. */
  maxMessageBytes: number;
  /** Where the room for each message is claimed before it is accepted. */
  space: SpoolSpace;
  /** Counters to update. */
  stats: SimulatorStats;
}

/** Reads and checks the request; throws `CommandFailed` (or a getter's error) for a `Fail`. */
function readRequest(
  ctx: MsgifContext,
  session: Session,
  request: Telegram,
): Omit<MsgHeader, 'xferId'> {
  const p = request.params;
  const ch = parseChannel(p.getStr('_Ch'));
  const cmd = p.getIntDef('Cmd', 0, U32);
  const metaLen = p.getIntDef('MetaLen', 0, U32);
  const len = p.getBigIntDef('Len', 0n, U64);
  if (BigInt(metaLen) + len > BigInt(ctx.maxMessageBytes)) {
    throw new CommandFailed(
      `MetaLen + Len = ${BigInt(metaLen) + len} bytes is larger than the node accepts (${ctx.maxMessageBytes} bytes)`,
    );
  }
  if (!mayUse(session.account, 'send', ch)) {
    throw new CommandFailed(deniedReason(session.account, 'send', ch));
  }
  return { ch, cmd, metaLen, len: Number(len) };
}

/**
 * Passes the next `size` bytes of the connection on to the link, as they
 * arrive, while the account may send on `ch`: checked before each piece,
 * the last included, so a right revoked meanwhile stops the message before
 * it is committed. Then the rest of the part is read and dropped (the
 * connection stays in step) and the call rejects with `CommandFailed`.
 */
function carry(
  session: Session,
  transfer: OutgoingTransfer,
  ch: string,
  size: number,
): Promise<void> {
  return session.reader.readChunks(
    size,
    (chunk) => {
      if (!mayUse(session.account, 'send', ch)) {
        throw new CommandFailed(sendRevokedReason(session.account, ch));
      }
      return transfer.push(chunk) ? undefined : transfer.drained();
    },
    { keep: true },
  );
}

/** The `Msg` command of the sender node's message interface. */
export function msgCommand(ctx: MsgifContext): CommandHandler {
  return async (session, request) => {
    let fields: Omit<MsgHeader, 'xferId'>;
    let release: Release;
    try {
      fields = readRequest(ctx, session, request);
      release = await ctx.space.claim(fields.metaLen + fields.len);
    } catch (err) {
      ctx.stats.msgsRejected++;
      throw err;
    }
    try {
      return await upload(ctx, session, { ...fields, xferId: randomUUID() });
    } finally {
      release();
    }
  };
}

/** Carries an accepted message's bytes onto the link; returns the parameters of the last `Ok`. */
async function upload(ctx: MsgifContext, session: Session, header: MsgHeader): Promise<Params> {
  const { metaLen, len } = header;
  // Cut-through: the link carries the message while it is still arriving.
  const transfer = ctx.link.open(encodeTelegram(msgTelegram(header)), metaLen + len, {
    what: 'message',
    xferId: header.xferId,
    ch: header.ch,
  });
  try {
    if (metaLen > 0 || len > 0) await session.ok(new Params().set('XferId', header.xferId));
    if (metaLen > 0) {
      await carry(session, transfer, header.ch, metaLen);
      if (len > 0) await session.ok();
    }
    if (len > 0) await carry(session, transfer, header.ch, len);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    transfer.abort(err instanceof CommandFailed ? text : `the upload failed: ${text}`);
    ctx.stats.msgsAborted++;
    throw err;
  }
  // Every byte is in: committed. The last Ok follows as the reply to this command.
  ctx.stats.msgsAccepted++;
  session.log(
    `accepted message ${header.xferId} on channel ${header.ch}: ${metaLen} + ${len} bytes`,
  );
  return metaLen > 0 || len > 0 ? new Params() : new Params().set('XferId', header.xferId);
}
