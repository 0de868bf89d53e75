/**
 * Sends one message: the file named on the command line (or a greeting) on
 * the channel of ddmwapp.toml, with its file name as params metadata.
 *
 *   DDMW_APPCONF=./ddmwapp.toml node --import tsx examples/send.ts [file]
 */
import { basename } from 'node:path';
import { blather, conf, conn, msg } from '../src/index.ts';

const config = await conf.load();
const ch = config?.getAppCh();
const addr = config?.sender?.msgif;
if (ch === undefined || addr === undefined)
  throw new Error('ddmwapp.toml needs channel and [sender] msgif');

const file = process.argv[2];
const c = await conn.connect(addr, { auth: config?.auth });
try {
  const xferId = await msg.send(c, {
    ch,
    meta: new blather.Params({ filename: file ? basename(file) : 'greeting.txt' }),
    payload: file ? { file } : 'Hello from examples/send.ts',
  });
  console.log(`sent ${xferId}`);
} finally {
  await c.close();
}
