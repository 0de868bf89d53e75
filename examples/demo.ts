/**
 * `npm run demo`: encodes a DDMW `Msg` telegram with a params metadata block
 * and a payload, decodes the bytes back with the pull-based FrameReader, and
 * prints both sides. (Later this becomes the end-to-end demo against the
 * embedded simulator.)
 */
import { blather } from '../src/index.ts';

const { encodeParams, encodeTelegram, FrameReader, Params, Telegram } = blather;

const meta = new Params({ filename: 'report.txt', author: 'Frank' });
const payload = Buffer.from('Hello across the diode!\n');
const header = new Telegram('Msg', {
  _Ch: 42,
  Cmd: 7,
  MetaLen: meta.encodedSize(),
  Len: BigInt(payload.length),
});
const wire = Buffer.concat([encodeTelegram(header), encodeParams(meta), payload]);
console.log(`encoded ${wire.length} bytes:\n${JSON.stringify(wire.toString('utf8'))}\n`);

// Feed the bytes back in small chunks, as a socket might deliver them.
async function* chunks(): AsyncGenerator<Buffer> {
  for (let i = 0; i < wire.length; i += 7) yield wire.subarray(i, i + 7);
}
const reader = new FrameReader(chunks());
const tg = await reader.readTelegram();
const metaLen = tg.params.getInt('MetaLen');
const len = tg.params.getBigInt('Len');
const decodedMeta = await reader.readParams();
const body = await reader.readBytes(Number(len));
console.log(`decoded telegram: ${tg}`);
console.log(
  `  channel ${tg.params.getStr('_Ch')}, cmd ${tg.params.getInt('Cmd')}, metadata ${metaLen} bytes, payload ${len} bytes`,
);
console.log(`  metadata: ${decodedMeta}`);
console.log(`  payload:  ${JSON.stringify(body.toString('utf8'))}`);
const ok = (await reader.nextTelegram()) === undefined && body.equals(payload);
console.log(ok ? '\nround trip verified' : '\nround trip FAILED');
process.exitCode = ok ? 0 : 1;
