/**
 * The decoder's limits on a telegram or block (lines, parameter lines,
 * bytes) at their defaults: exactly at a limit passes, one over is a fatal
 * `BLATHER` error naming the option, on the fast path (the telegram in one
 * chunk) and the slow path (split across chunks), and a peer that sends
 * without end is stopped at the limit. Small limits are in vectors.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scanTelegram } from '../../src/blather/fastpath.ts';
import {
  DEFAULT_MAX_PARAMS,
  DEFAULT_MAX_TELEGRAM_BYTES,
  decodeKVLines,
  decodeParams,
  FrameReader,
  type FrameReaderOptions,
} from '../../src/blather/index.ts';
import { decodeLimits } from '../../src/blather/limits.ts';
import { DdmwError } from '../../src/err.ts';
import { chunksOf } from '../helpers/chunks.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { paramLines, telegramOfSize } from '../helpers/oversize.ts';

/** The telegram whole (the fast path) and cut into 4 KiB chunks (the slow path). */
function bothPaths(bytes: Buffer): [string, Buffer[]][] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 4096) pieces.push(bytes.subarray(i, i + 4096));
  return [
    ['in one chunk', [bytes]],
    ['in 4 KiB chunks', pieces],
  ];
}

function reader(parts: Buffer[], options?: FrameReaderOptions): FrameReader {
  return new FrameReader(chunksOf(parts), options);
}

describe('default limits of a telegram', () => {
  for (const [how, parts] of bothPaths(Buffer.from(`T\n${paramLines(DEFAULT_MAX_PARAMS)}\n`))) {
    it(`10,000 parameter lines pass, ${how}`, async () => {
      const tg = await reader(parts).readTelegram();
      assert.equal(tg.params.size, DEFAULT_MAX_PARAMS);
    });
  }
  for (const [how, parts] of bothPaths(Buffer.from(`T\n${paramLines(DEFAULT_MAX_PARAMS + 1)}\n`))) {
    it(`10,001 parameter lines fail, naming maxParams, ${how}`, async () => {
      const r = reader(parts);
      const err = await rejectsCode(r.readTelegram(), 'BLATHER');
      assert.match(err.message, /maximum of 10000 parameter lines.*raise maxParams/);
      assert.equal(await rejectsCode(r.readTelegram(), 'BLATHER'), err, 'the error is fatal');
    });
  }
  for (const [how, parts] of bothPaths(telegramOfSize('T', DEFAULT_MAX_TELEGRAM_BYTES))) {
    it(`1 MiB passes, ${how}`, async () => {
      const tg = await reader(parts).readTelegram();
      assert.equal(tg.topic, 'T');
    });
  }
  for (const [how, parts] of bothPaths(telegramOfSize('T', DEFAULT_MAX_TELEGRAM_BYTES + 1))) {
    it(`1 MiB + 1 byte fails, naming maxTelegramBytes, ${how}`, async () => {
      const r = reader(parts);
      const err = await rejectsCode(r.readTelegram(), 'BLATHER');
      assert.match(err.message, /maximum size of 1048576 bytes.*raise maxTelegramBytes/);
      assert.equal(r.error, err, 'the error is fatal');
    });
  }
  it('the limits are options: raised, the same telegrams pass', async () => {
    const many = Buffer.from(`T\n${paramLines(DEFAULT_MAX_PARAMS + 1)}\n`);
    const big = telegramOfSize('T', DEFAULT_MAX_TELEGRAM_BYTES + 1);
    const raised = { maxParams: DEFAULT_MAX_PARAMS + 1, maxTelegramBytes: big.length };
    assert.equal((await reader([many], raised).readTelegram()).params.size, 10_001);
    assert.equal((await reader([big], raised).readTelegram()).topic, 'T');
    const none = {
      maxParams: Number.POSITIVE_INFINITY,
      maxTelegramBytes: Number.POSITIVE_INFINITY,
    };
    assert.equal((await reader([many, big], none).readTelegram()).params.size, 10_001);
  });
});

/**
 * A source that sends `head`, then `line` over and over in chunks of about
 * 4 KiB, up to 16 MiB (far past every limit: a reader that does not stop
 * ends with `DISCONNECTED`, not a hang), and counts the bytes it handed out.
 */
function flooding(
  head: string,
  line: string,
): { source: AsyncIterable<Buffer>; sent: () => number } {
  const chunk = Buffer.from(line.repeat(Math.ceil(4096 / line.length)));
  let sent = 0;
  async function* source(): AsyncGenerator<Buffer> {
    sent += head.length;
    yield Buffer.from(head);
    while (sent < 16 * 1024 * 1024) {
      sent += chunk.length;
      yield chunk;
    }
  }
  return { source: source(), sent: () => sent };
}

describe('a peer that floods one telegram', () => {
  it('is stopped after 10,000 short lines', async () => {
    const flood = flooding('Ok\n', 'a 1\n');
    const err = await rejectsCode(new FrameReader(flood.source).readTelegram(), 'BLATHER');
    assert.match(err.message, /raise maxParams/);
    assert.ok(flood.sent() < 50_000, `read ${flood.sent()} bytes for 10,000 lines of 4`);
  });
  it('is stopped after 1 MiB of a line that does not end, even without a line limit', async () => {
    const flood = flooding('Ok\nk ', 'x');
    const r = new FrameReader(flood.source, { maxLineLength: Number.POSITIVE_INFINITY });
    const err = await rejectsCode(r.readTelegram(), 'BLATHER');
    assert.match(err.message, /raise maxTelegramBytes/);
    assert.ok(flood.sent() < 1024 * 1024 + 8192, `read ${flood.sent()} bytes`);
  });
  it('a params block is stopped the same way', async () => {
    const flood = flooding('', 'a 1\n');
    await rejectsCode(new FrameReader(flood.source).readParams(), 'BLATHER');
    assert.ok(flood.sent() < 50_000, `read ${flood.sent()} bytes`);
    const kv = flooding('', 'a 1\n');
    await rejectsCode(new FrameReader(kv.source).readKVLines(), 'BLATHER');
    assert.ok(kv.sent() < 50_000, `read ${kv.sent()} bytes`);
  });
});

describe('the fast path', () => {
  const limits = decodeLimits({ maxParams: 2, maxTelegramBytes: 11 });
  it('decodes a telegram exactly at the limits', () => {
    const cursor = { pos: 0 };
    const tg = scanTelegram(Buffer.from('T\na 1\nb 2\n\n'), cursor, limits);
    assert.deepEqual(tg?.params.toObject(), { a: '1', b: '2' });
    assert.equal(cursor.pos, 11);
  });
  for (const [what, text] of [
    ['parameter line', 'T\na 1\nb 2\nc\n\n'],
    ['byte', 'T\na 1\nb 23\n\n'],
  ] as const) {
    it(`leaves a telegram one ${what} over to the reference path, consuming nothing`, () => {
      const cursor = { pos: 0 };
      assert.equal(scanTelegram(Buffer.from(text), cursor, limits), undefined);
      assert.equal(cursor.pos, 0);
    });
  }
});

describe('blocks decoded from memory (message metadata)', () => {
  it('10,000 lines pass, 10,001 fail naming maxParams; the option raises it', async () => {
    const atLimit = Buffer.from(`${paramLines(DEFAULT_MAX_PARAMS)}\n`);
    const over = Buffer.from(`${paramLines(DEFAULT_MAX_PARAMS + 1)}\n`);
    assert.equal((await decodeParams(atLimit)).size, DEFAULT_MAX_PARAMS);
    assert.equal((await decodeKVLines(atLimit)).length, DEFAULT_MAX_PARAMS);
    const err = await rejectsCode(decodeParams(over), 'BLATHER');
    assert.match(err.message, /raise maxParams/);
    await rejectsCode(decodeKVLines(over), 'BLATHER');
    assert.equal((await decodeParams(over, { maxParams: 10_001 })).size, 10_001);
    assert.equal((await decodeKVLines(over, { maxParams: 10_001 })).length, 10_001);
  });
  it('their bytes and lines are bounded by the buffer alone', async () => {
    const big = Buffer.from(`k ${'x'.repeat(2 * 1024 * 1024)}\n\n`);
    assert.equal((await decodeParams(big)).get('k')?.length, 2 * 1024 * 1024);
  });
  it('an invalid maxParams is BAD_INPUT', async () => {
    await rejectsCode(decodeParams(Buffer.from('\n'), { maxParams: 0 }), 'BAD_INPUT');
  });
});

describe('option values', () => {
  for (const name of ['maxLineLength', 'maxParams', 'maxTelegramBytes'] as const) {
    it(`${name} must be a positive integer or Infinity`, () => {
      for (const bad of [
        0,
        -1,
        1.5,
        Number.NaN,
        Number.NEGATIVE_INFINITY,
        '10' as unknown as number,
      ]) {
        assert.throws(
          () => reader([], { [name]: bad }),
          (e: unknown) =>
            e instanceof DdmwError &&
            e.code === 'BAD_INPUT' &&
            e.message.startsWith(`${name} must`),
          `${name}: ${String(bad)}`,
        );
      }
      assert.doesNotThrow(() => reader([], { [name]: Number.POSITIVE_INFINITY }));
      assert.doesNotThrow(() => reader([], { [name]: 1 }));
    });
  }
});
