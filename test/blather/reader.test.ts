/** FrameReader behaviour beyond the wire vectors: raw sinks, streams, sockets, errors. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import {
  decodeKVLines,
  decodeParams,
  encodeTelegram,
  FrameReader,
  Telegram,
} from '../../src/blather/index.ts';
import { isAsciiKeyByte, TOPIC_FIRST_BYTE, TOPIC_REST_BYTE } from '../../src/blather/validate.ts';
import { DdmwError } from '../../src/err.ts';
import { chunksOf } from '../helpers/chunks.ts';
import { rejectsCode } from '../helpers/errors.ts';

function reader(...parts: (string | Buffer)[]): FrameReader {
  return new FrameReader(chunksOf(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))));
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-reader-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('byte tables agree with the regex rules', () => {
  it('for every ASCII byte', () => {
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c);
      assert.equal(TOPIC_FIRST_BYTE[c] === 1, /^\p{Alphabetic}$/u.test(ch), `first ${c}`);
      assert.equal(TOPIC_REST_BYTE[c] === 1, /^[\p{Alphabetic}\p{N}_-]$/u.test(ch), `rest ${c}`);
      assert.equal(isAsciiKeyByte(c), /^[\p{Alphabetic}\p{N}!-/:-@[-`{-~]$/u.test(ch), `key ${c}`);
    }
  });
});

describe('errors', () => {
  it('a decode error is fatal: later calls fail with the same error', async () => {
    const r = reader('hel lo\nk v\n\nOk\n\n');
    const first = await rejectsCode(r.readTelegram(), 'BLATHER');
    const second = await rejectsCode(r.readTelegram(), 'BLATHER');
    assert.equal(first, second);
    assert.equal(r.error, first);
  });
  it('overlapping calls are refused, not interleaved', async () => {
    const r = reader('a\n\n', 'b\n\n');
    const p1 = r.readBytes(2);
    await rejectsCode(r.readTelegram(), 'BAD_STATE');
    assert.equal((await p1).toString(), 'a\n');
  });
  it('a decoded value ending in CR cannot be sent back', async () => {
    const tg = await reader('T\nk v\r\r\n\n').readTelegram();
    assert.equal(tg.params.get('k'), 'v\r');
    assert.throws(
      () => encodeTelegram(tg),
      (e: DdmwError) => e.code === 'BLATHER',
    );
  });
  it('a throwing chunk consumer does not desync the reader', async () => {
    const r = reader('abcdef', 'Ok\n\n');
    await assert.rejects(
      r.readChunks(6, () => {
        throw new Error('consumer broke');
      }),
      /consumer broke/,
    );
    assert.equal((await r.readTelegram()).topic, 'Ok');
  });
  it('rejects invalid sizes and options', async () => {
    assert.throws(
      () => reader('').skip(-1),
      (e: DdmwError) => e.code === 'BAD_INPUT',
    );
    assert.throws(() => new FrameReader(chunksOf([]), { maxLineLength: 0 }), DdmwError);
  });
  it('the line limit applies to params and kvlines too', async () => {
    const long = `${'x'.repeat(70_000)} y\n\n`;
    await rejectsCode(reader(long).readParams(), 'BLATHER');
    await rejectsCode(reader(long).readKVLines(), 'BLATHER');
    const unlimited = new FrameReader(chunksOf([Buffer.from(`T\n${long}`)]), {
      maxLineLength: Number.POSITIVE_INFINITY,
    });
    assert.equal((await unlimited.readTelegram()).params.get('x'.repeat(70_000)), 'y');
  });
});

describe('whole blocks in memory', () => {
  it('decodes a params or kvlines block that fills the buffer, and refuses trailing bytes', async () => {
    assert.deepEqual((await decodeParams(Buffer.from('a 1\nb 2\n\n'))).toObject(), {
      a: '1',
      b: '2',
    });
    assert.deepEqual((await decodeKVLines(Buffer.from('a 1\na 2\n\n'))).toArray(), [
      ['a', '1'],
      ['a', '2'],
    ]);
    await rejectsCode(decodeParams(Buffer.from('a 1\n\nextra')), 'BLATHER');
    await rejectsCode(decodeParams(Buffer.from('a 1\n')), 'DISCONNECTED');
  });
});

describe('payload to a file', () => {
  it('writes exactly n bytes and leaves the rest buffered', async () => {
    const path = join(dir, 'p1');
    const r = reader('Msg\n\nhel', 'lo wor', 'ldOk\n\n');
    await r.readTelegram();
    await r.readToFile(path, 11);
    assert.equal(await readFile(path, 'utf8'), 'hello world');
    assert.equal((await r.readTelegram()).topic, 'Ok');
  });
  it('removes the partial file when the data ends early', async () => {
    const path = join(dir, 'p2');
    const r = reader('hel');
    await rejectsCode(r.readToFile(path, 11), 'DISCONNECTED');
    await assert.rejects(stat(path), { code: 'ENOENT' });
  });
  it('an unwritable path is an IO error and the stream stays in sync', async () => {
    const path = join(dir, 'no-such-dir', 'f');
    const r = reader('abc', 'Ok\n\n');
    await rejectsCode(r.readToFile(path, 3), 'IO');
    assert.equal((await r.readTelegram()).topic, 'Ok');
  });
  it('never deletes a file it could not open', async () => {
    const path = join(dir, 'keep');
    await writeFile(path, 'precious');
    const r = reader('abc');
    await assert.rejects(r.readToFile(join(path, 'sub'), 3));
    assert.equal(await readFile(path, 'utf8'), 'precious');
  });
});

describe('payload as a stream', () => {
  it('streams exactly n bytes with backpressure, then the reader goes on', async () => {
    const payload = Buffer.alloc(3 * 1024 * 1024, 7);
    const parts: Buffer[] = [];
    for (let i = 0; i < payload.length; i += 65536) parts.push(payload.subarray(i, i + 65536));
    const r = new FrameReader(chunksOf([...parts, Buffer.from('Ok\n\n')]));
    const s = r.readStream(payload.length);
    await rejectsCode(r.readTelegram(), 'BAD_STATE');
    const hash = createHash('sha256');
    await pipeline(
      s,
      new Writable({
        highWaterMark: 1024,
        write(chunk, _enc, cb) {
          hash.update(chunk);
          setImmediate(cb);
        },
      }),
    );
    assert.equal(hash.digest('hex'), createHash('sha256').update(payload).digest('hex'));
    assert.equal((await r.readTelegram()).topic, 'Ok');
  });
  it('destroying the stream early skips the rest of the payload', async () => {
    const r = reader('0123456789', 'abcdef', 'Ok\n\n');
    const s = r.readStream(16);
    s.once('data', () => s.destroy());
    await new Promise((resolve) => s.once('close', resolve));
    assert.equal((await r.readTelegram()).topic, 'Ok');
  });
  it('fails with DISCONNECTED when the data ends early', async () => {
    const r = reader('0123');
    const s = r.readStream(10);
    const err = await new Promise<Error>((resolve) => {
      s.on('error', resolve);
      s.resume();
    });
    assert.ok(err instanceof DdmwError && err.code === 'DISCONNECTED');
  });
});

describe('over a real socket', () => {
  it('decodes pipelined telegrams and payloads, and reports EOF', async () => {
    const server = createServer((sock: Socket) => {
      sock.write(encodeTelegram(new Telegram('Msg', { Len: 5 })));
      sock.write('hello');
      sock.end(encodeTelegram(new Telegram('Ok', { XferId: 'x1' })));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const sock = netConnect(port, '127.0.0.1');
    const r = new FrameReader(sock);
    const msg = await r.readTelegram();
    assert.equal(msg.params.getInt('Len'), 5);
    assert.equal((await r.readBytes(5)).toString(), 'hello');
    assert.equal((await r.readTelegram()).params.get('XferId'), 'x1');
    assert.equal(await r.nextTelegram(), undefined);
    sock.destroy();
    server.close();
  });
});

describe('Readable sources', () => {
  it('a stream handed over paused is read all the same', async () => {
    const stream = new PassThrough();
    stream.pause();
    const reader = new FrameReader(stream);
    stream.write('Hi\nA 1\n\n');
    const tg = await reader.nextTelegram();
    assert.equal(tg?.topic, 'Hi');
    assert.equal(tg?.params.getInt('A'), 1);
  });
});
