/**
 * Child of disk-full.test.ts: run with a file size limit (`ulimit -f`), so
 * that writing a large part fails as on a full disk. Subscribes at the
 * address in argv[2] to channel argv[3], stores `count` (argv[5]) payloads
 * as files in argv[4], and prints one JSON line per outcome.
 */
import { connect } from '../../src/conn/index.ts';
import { type MsgError, messages, subscribe } from '../../src/msg/index.ts';

const [addr, ch, dir, count] = process.argv.slice(2) as [string, string, string, string];
const conn = await connect(addr, { auth: { name: 'app', pass: 'app-pass' } });
await subscribe(conn, Number(ch));
console.log(JSON.stringify({ subscribed: true }));
let seen = 0;
const onSkipped = (err: MsgError) => {
  console.log(JSON.stringify({ skipped: err.xferId, code: err.code, message: err.message }));
  seen++;
};
const storeq = (info: { xferId?: string }) => ({ file: `${dir}/${info.xferId}` });
for await (const m of messages(conn, { storeq, onSkipped })) {
  console.log(JSON.stringify({ stored: m.xferId, payload: m.payload }));
  if (++seen >= Number(count)) break;
}
await conn.close();
