/**
 * A resubscribing receiver: keeps receiving across lost connections and
 * node restarts, with the retry policy of ddmwapp.toml ([receiver]
 * sub-retries, sub-retry-delay). Stops after `count` messages (argument).
 *
 *   DDMW_APPCONF=./ddmwapp.toml node --import tsx examples/subscription.ts [count]
 */
import { conf, msg } from '../src/index.ts';

const config = await conf.load();
const addr = config?.receiver?.subif;
if (!config || addr === undefined)
  throw new Error('ddmwapp.toml needs channel and [receiver] subif');

const limit = Number(process.argv[2] ?? Number.POSITIVE_INFINITY);
let seen = 0;
for await (const m of msg.subscription(addr, {
  config,
  onStatus: (s) =>
    console.log(`subscription: ${s.type}${s.type === 'retrying' ? ` ${s.attempt}/${s.of}` : ''}`),
})) {
  const text = m.payload?.kind === 'bytes' ? m.payload.bytes.toString() : '';
  console.log(`message ${m.xferId}: ${text.slice(0, 60)}`);
  if (++seen >= limit) break;
}
