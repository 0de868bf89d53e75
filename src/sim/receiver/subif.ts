/**
 * `Sub` on the receiver node's subscription interface: after `Sub` `Ch`
 * is answered `Ok`, every message of that channel is pushed to the
 * connection as a `Msg` telegram followed by its metadata and payload.
 * A connection may subscribe to several channels.
 */
import { Params } from '../../blather/index.ts';
import { deniedReason, mayUse, parseChannel } from '../node/channels.ts';
import { CommandFailed, type CommandHandler } from '../node/session.ts';
import type { Delivery } from './delivery.ts';

/** The `Sub` command of the receiver node's subscription interface. */
export function subCommand(delivery: Delivery): CommandHandler {
  return (session, request) => {
    const ch = parseChannel(request.params.getStr('Ch'));
    if (!mayUse(session.account, 'subscribe', ch)) {
      throw new CommandFailed(deniedReason(session.account, 'subscribe', ch));
    }
    delivery.subscribe(session, ch, session.account);
    session.log(`subscribed to channel ${ch}`);
    return new Params();
  };
}
