/**
 * Streams: subscribes to the channel of ddmwapp.toml, then writes a stream of
 * log lines to the sender node while the receiver reads it, chunk by chunk,
 * before the writer has finished.
 *
 *   DDMW_APPCONF=./ddmwapp.toml node --import tsx examples/stream.ts [lines]
 */
import { conf, conn, msg, strm } from '../src/index.ts';

const config = await conf.load();
const ch = config?.getAppCh();
const [msgif, subif] = [config?.sender?.msgif, config?.receiver?.subif];
if (ch === undefined || !msgif || !subif)
  throw new Error('ddmwapp.toml needs channel, [sender] msgif, [receiver] subif');

const lines = Number(process.argv[2] ?? 1000);
const receiver = await conn.connect(subif, { auth: config?.auth });
await msg.subscribe(receiver, ch);
const sender = await conn.connect(msgif, { auth: config?.auth });

const reading = (async () => {
  const event = await msg.recv(receiver, { streams: true });
  if (event.kind !== 'stream') throw new Error('expected a stream');
  let bytes = 0;
  for await (const chunk of event.stream) bytes += (chunk as Buffer).length;
  return { xferId: event.xferId, bytes };
})();

const writer = strm.open(sender, { ch });
for (let i = 0; i < lines; i++) {
  // Honour backpressure: wait for 'drain' when the writer's buffer is full.
  if (!writer.write(`line ${i}: the quick brown fox\n`))
    await new Promise((r) => writer.once('drain', r));
}
writer.end();
await new Promise((resolve, reject) => writer.once('finish', resolve).once('error', reject));
const got = await reading;
console.log(`stream ${writer.xferId}: wrote ${writer.length} bytes, received ${got.bytes} bytes`);
await sender.close();
await receiver.close();
