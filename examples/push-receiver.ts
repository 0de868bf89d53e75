/**
 * A push receiver: listens on [receiver] push-listenif of ddmwapp.toml and
 * lets the receiver node push messages to it. Stops after `count` messages.
 *
 *   DDMW_APPCONF=./ddmwapp.toml node --import tsx examples/push-receiver.ts [count]
 */
import { conf, msg } from '../src/index.ts';

const config = await conf.load();
const listenAt = config?.receiver?.pushListenif;
if (listenAt === undefined) throw new Error('ddmwapp.toml needs [receiver] push-listenif');

const limit = Number(process.argv[2] ?? Number.POSITIVE_INFINITY);
const listener = await msg.listenPush(listenAt);
console.log(`listening for pushes on ${listener.address}`);
let seen = 0;
for await (const m of listener) {
  console.log(`pushed ${m.xferId}: ${m.payloadLen} bytes on channel ${m.ch}`);
  if (++seen >= limit) break;
}
await listener.close();
