/**
 * Child of hash-thread.test.ts: a subscriber alone in its process with a
 * node (in the same process) that pushes one stream and closes everything
 * right after its end. The stream's digest is then all the process waits
 * for: it must still come (the output says `ok` and the byte count), and
 * the hashing thread must not keep the process alive afterwards.
 */

import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { encodeTelegram, FrameReader, Telegram } from '../../src/blather/index.ts';
import { connect } from '../../src/conn/index.ts';
import { recv, subscribe } from '../../src/msg/index.ts';

const data = Buffer.alloc(8 * 1024 * 1024, 0x61);
const server = createServer(async (socket) => {
  server.close(); // one connection only: nothing of the server stays to keep the process alive
  await new FrameReader(socket).nextTelegram(); // Sub
  socket.write(encodeTelegram(new Telegram('Ok')));
  socket.write(encodeTelegram(new Telegram('Strm', { _Ch: 7, XferId: 'x-1' })));
  socket.write(encodeTelegram(new Telegram('Chunk', { Len: data.length })));
  socket.write(data);
  const digest = createHash('sha256').update(data).digest('hex');
  socket.end(encodeTelegram(new Telegram('StrmEnd', { Len: data.length, Sha256: digest })));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
const conn = await connect(`127.0.0.1:${port}`);
await subscribe(conn, 7);
const item = await recv(conn, { streams: true });
if (item.kind !== 'stream') throw new Error(`expected a stream, got ${item.kind}`);
let received = 0;
for await (const chunk of item.stream) received += (chunk as Buffer).length;
console.log(`ok ${received}`);
