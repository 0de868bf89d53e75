/**
 * `Msg` on the sender node's message interface: the client announces a
 * message, gets a transfer id, sends its metadata and payload, and once the
 * last part is in the message is handed to the one-way link.
 *
 * ```
 * C: Msg _Ch [Cmd] [MetaLen] [Len]   S: Ok XferId   (or Fail: the client sends nothing)
 * C: <MetaLen bytes>                 S: Ok          (only when MetaLen > 0)
 * C: <Len bytes>                     S: Ok          (only when Len > 0)
 * ```
 */
import { randomUUID } from 'node:crypto';
import { encodeTelegram, Params, type Telegram, U32, U64 } from '../../blather/index.ts';
import { isDdmwError } from '../../err.ts';
import type { LinkSender } from '../link/sender.ts';
import { mayUse, parseChannel } from '../node/channels.ts';
import { type MsgHeader, msgTelegram } from '../node/message.ts';
import { CommandFailed, type CommandHandler, type Session } from '../node/session.ts';
import { discard, type Spool, type Spooled } from '../node/spool.ts';
import type { SimulatorStats } from '../stats.ts';

/** What the `Msg` command needs from the sender node. */
export interface MsgifContext {
  /** Where metadata and payload wait. */
  spool: Spool;
  /** Where committed messages go. */
  link: LinkSender;
  /** Counters to update. */
  stats: SimulatorStats;
}

/** Reads and checks the request; throws `CommandFailed` (or a getter's error) for a `Fail`. */
function readRequest(session: Session, request: Telegram): Omit<MsgHeader, 'xferId'> {
  const p = request.params;
  const ch = parseChannel(p.getStr('_Ch'));
  const cmd = p.getIntDef('Cmd', 0, U32);
  const metaLen = p.getIntDef('MetaLen', 0, U32);
  const len = p.getBigIntDef('Len', 0n, U64);
  if (len > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CommandFailed(`Len ${len} is larger than the simulator handles (2^53-1 bytes)`);
  }
  if (!mayUse(session.account, 'send', ch)) {
    throw new CommandFailed(
      `Permission denied: account "${session.account.name}" may not send on channel ${ch}`,
    );
  }
  return { ch, cmd, metaLen, len: Number(len) };
}

/**
 * Receives one part (metadata or payload). A storage failure becomes a
 * `Fail` (the bytes were still read, so the connection stays usable); the
 * client disconnecting rejects as the reader does.
 */
async function receivePart(ctx: MsgifContext, session: Session, size: number): Promise<Spooled> {
  try {
    return await ctx.spool.receive(session.reader, size);
  } catch (err) {
    if (session.reader.error || isDdmwError(err, 'DISCONNECTED')) throw err;
    const text = err instanceof Error ? err.message : String(err);
    throw new CommandFailed(`The sender node could not store the message: ${text}`);
  }
}

/** The `Msg` command of the sender node's message interface. */
export function msgCommand(ctx: MsgifContext): CommandHandler {
  return async (session, request) => {
    let fields: Omit<MsgHeader, 'xferId'>;
    try {
      fields = readRequest(session, request);
    } catch (err) {
      ctx.stats.msgsRejected++;
      throw err;
    }
    const header: MsgHeader = { ...fields, xferId: randomUUID() };
    const { metaLen, len } = header;
    const parts: Spooled[] = [];
    try {
      if (metaLen > 0 || len > 0) await session.ok(new Params().set('XferId', header.xferId));
      if (metaLen > 0) {
        parts.push(await receivePart(ctx, session, metaLen));
        if (len > 0) await session.ok();
      }
      if (len > 0) parts.push(await receivePart(ctx, session, len));
    } catch (err) {
      await Promise.all(parts.map(discard));
      if (err instanceof CommandFailed) ctx.stats.msgsRejected++;
      else ctx.stats.msgsAborted++;
      throw err;
    }
    // Every byte is in: commit. The last Ok follows as the reply to this command.
    ctx.link.enqueue({ header: encodeTelegram(msgTelegram(header)), parts });
    ctx.stats.msgsAccepted++;
    session.log(
      `accepted message ${header.xferId} on channel ${header.ch}: ${metaLen} + ${len} bytes`,
    );
    return metaLen > 0 || len > 0 ? new Params() : new Params().set('XferId', header.xferId);
  };
}
