/**
 * Subscribes to the channel of ddmwapp.toml and prints each message, with
 * `recvLoop`, until it has seen the number of messages given on the command
 * line (default: run until Ctrl-C).
 *
 *   DDMW_APPCONF=./ddmwapp.toml node --import tsx examples/receive-loop.ts [count]
 */
import { conf, conn, msg } from '../src/index.ts';

const config = await conf.load();
const ch = config?.getAppCh();
const addr = config?.receiver?.subif;
if (ch === undefined || addr === undefined)
  throw new Error('ddmwapp.toml needs channel and [receiver] subif');

const limit = Number(process.argv[2] ?? Number.POSITIVE_INFINITY);
const c = await conn.connect(addr, { auth: config?.auth });
await msg.subscribe(c, ch);
console.log(`subscribed to channel ${ch}`);
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
let seen = 0;
await msg.recvLoop(c, {
  signal: stop.signal,
  storeq: () => ({ meta: 'params', payload: 'bytes' }),
  onMsg: (m) => {
    const name = m.meta?.kind === 'params' ? m.meta.params.get('filename') : undefined;
    console.log(
      `message ${m.xferId}: cmd ${m.cmd}, ${m.payloadLen} bytes${name ? ` (${name})` : ''}`,
    );
    if (++seen >= limit) stop.abort();
  },
});
console.log(`received ${seen} message(s)`);
