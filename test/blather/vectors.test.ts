/**
 * Every decoder test vector of wire-protocol.md §5, run on the whole input,
 * one byte at a time, and split at every possible boundary.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FrameReaderOptions } from '../../src/blather/index.ts';
import { chunkings } from '../helpers/chunks.ts';
import { type Op, type Outcome, runScript } from '../helpers/script.ts';

interface Vector {
  name: string;
  input: string | Buffer;
  ops: Op[];
  expect: Outcome[];
  options?: FrameReaderOptions;
}

const err = (code: string, msg: string): Outcome => ({ error: code, msg });
const tg = (topic: string, p: Record<string, string> = {}): Outcome => ({ tg: topic, p });
const END: Outcome = { end: true };

const vectors: Vector[] = [
  { name: '1 no params', input: 'hello\n\n', ops: [['tg'], ['next']], expect: [tg('hello'), END] },
  {
    name: '2 with params',
    input: 'hello\nmurky_waters off\nwrong_impression cows\n\n',
    ops: [['tg']],
    expect: [tg('hello', { murky_waters: 'off', wrong_impression: 'cows' })],
  },
  {
    name: '3 bad topic',
    input: 'hel lo\n\n',
    ops: [['tg']],
    expect: [err('BLATHER', 'Invalid topic character')],
  },
  {
    name: '4 telegram then raw bytes',
    input: 'hello\nlen 4\n\n1234',
    ops: [['tg'], ['bytes', 4], ['next']],
    expect: [tg('hello', { len: '4' }), { bytes: '1234' }, END],
  },
  {
    name: '13 CRLF everywhere',
    input: 'hello\r\nk v\r\n\r\n',
    ops: [['tg']],
    expect: [tg('hello', { k: 'v' })],
  },
  {
    name: '14 first space splits',
    input: 'hello\nk  v\n\n',
    ops: [['tg']],
    expect: [tg('hello', { k: ' v' })],
  },
  {
    name: '15 empty value',
    input: 'hello\nk \n\n',
    ops: [['tg']],
    expect: [tg('hello', { k: '' })],
  },
  { name: '16 no space dropped', input: 'hello\nk\n\n', ops: [['tg']], expect: [tg('hello')] },
  {
    name: '17 empty key',
    input: 'hello\n v\n\n',
    ops: [['tg']],
    expect: [err('BLATHER', 'Empty or broken key')],
  },
  {
    name: '18 tab in key',
    input: 'hello\nk\tx y\n\n',
    ops: [['tg']],
    expect: [err('BLATHER', 'Invalid key character')],
  },
  {
    name: '19 later duplicate wins',
    input: 'hello\nk 1\nk 2\n\n',
    ops: [['tg']],
    expect: [tg('hello', { k: '2' })],
  },
  {
    name: '20 topic-less telegram (LF)',
    input: '\n',
    ops: [['tg']],
    expect: [err('BLATHER', 'Received an empty line')],
  },
  {
    name: '20 topic-less telegram (CRLF)',
    input: '\r\n',
    ops: [['tg']],
    expect: [err('BLATHER', 'Received an empty line')],
  },
  {
    name: '21 digit first',
    input: '1abc\n\n',
    ops: [['tg']],
    expect: [err('BLATHER', 'Invalid leading topic character')],
  },
  {
    name: '21 underscore first',
    input: '_x\n\n',
    ops: [['tg']],
    expect: [err('BLATHER', 'Invalid leading topic character')],
  },
  {
    name: '21 dash first',
    input: '-x\n\n',
    ops: [['tg']],
    expect: [err('BLATHER', 'Invalid leading topic character')],
  },
  {
    name: '21 trailing space',
    input: 'hello \n\n',
    ops: [['tg']],
    expect: [err('BLATHER', 'Invalid topic character')],
  },
  {
    name: '21 only one CR removed',
    input: 'hello\r\r\n\n',
    ops: [['tg']],
    expect: [err('BLATHER', 'Invalid topic character')],
  },
  { name: '22 non-ASCII topic', input: 'Hälsning\n\n', ops: [['tg']], expect: [tg('Hälsning')] },
  {
    name: '23 invalid UTF-8',
    input: Buffer.from([0x68, 0x69, 0xff, 0x0a, 0x0a]),
    ops: [['tg']],
    expect: [err('BLATHER', 'Unable to decode input as UTF8')],
  },
  {
    name: '23 invalid UTF-8 in a value',
    input: Buffer.concat([Buffer.from('hi\nk '), Buffer.from([0xc3]), Buffer.from('\n\n')]),
    ops: [['tg']],
    expect: [err('BLATHER', 'Unable to decode input as UTF8')],
  },
  {
    name: '24 limit 5 passes',
    input: 'hello\n\n',
    options: { maxLineLength: 5 },
    ops: [['tg']],
    expect: [tg('hello')],
  },
  {
    name: '24 limit 5, 6 bytes without LF',
    input: 'hello!',
    options: { maxLineLength: 5 },
    ops: [['tg']],
    expect: [err('BLATHER', 'Exceeded maximum line length')],
  },
  {
    name: '24 limit 5, CR counts',
    input: 'hello\r\n\r\n',
    options: { maxLineLength: 5 },
    ops: [['tg']],
    expect: [err('BLATHER', 'Exceeded maximum line length')],
  },
  {
    name: 'limit 2 params passes',
    input: 'T\na 1\nb 2\n\n',
    options: { maxParams: 2 },
    ops: [['tg']],
    expect: [tg('T', { a: '1', b: '2' })],
  },
  {
    name: 'limit 2 params, 3 fail',
    input: 'T\na 1\nb 2\nc 3\n\n',
    options: { maxParams: 2 },
    ops: [['tg']],
    expect: [err('BLATHER', 'Exceeded maximum of 2 parameter lines')],
  },
  {
    name: 'limit 2 params, duplicate keys count',
    input: 'T\nk 1\nk 2\nk 3\n\n',
    options: { maxParams: 2 },
    ops: [['tg']],
    expect: [err('BLATHER', 'Exceeded maximum of 2 parameter lines')],
  },
  {
    name: 'limit 2 params, lines without a space count',
    input: 'T\nx\ny\nz\n\n',
    options: { maxParams: 2 },
    ops: [['tg']],
    expect: [err('BLATHER', 'Exceeded maximum of 2 parameter lines')],
  },
  {
    name: 'limit 11 bytes passes',
    input: 'T\na 1\nb 2\n\n',
    options: { maxTelegramBytes: 11 },
    ops: [['tg']],
    expect: [tg('T', { a: '1', b: '2' })],
  },
  {
    name: 'limit 10 bytes, 11 fail',
    input: 'T\na 1\nb 2\n\n',
    options: { maxTelegramBytes: 10 },
    ops: [['tg']],
    expect: [err('BLATHER', 'Exceeded maximum size of 10 bytes')],
  },
  {
    name: 'limit 9 bytes, a CRLF telegram of 10 fails',
    input: 'T\r\na 1\r\n\r\n',
    options: { maxTelegramBytes: 9 },
    ops: [['tg']],
    expect: [err('BLATHER', 'Exceeded maximum size of 9 bytes')],
  },
  {
    name: 'limit 10 bytes, a CRLF telegram of 10 passes',
    input: 'T\r\na 1\r\n\r\n',
    options: { maxTelegramBytes: 10 },
    ops: [['tg']],
    expect: [tg('T', { a: '1' })],
  },
  {
    name: 'the line limit is named when it is the one exceeded',
    input: 'T\nabcd e\n\n',
    options: { maxLineLength: 3, maxTelegramBytes: 100 },
    ops: [['tg']],
    expect: [err('BLATHER', 'Exceeded maximum line length of 3 bytes')],
  },
  {
    name: 'limits are per telegram',
    input: 'T\na 1\nb 2\n\nU\nc 3\nd 4\n\n',
    options: { maxParams: 2, maxTelegramBytes: 11 },
    ops: [['tg'], ['tg'], ['next']],
    expect: [tg('T', { a: '1', b: '2' }), tg('U', { c: '3', d: '4' }), END],
  },
  {
    name: 'limits on a params block pass',
    input: 'a 1\nb 2\n\nT\n\n',
    options: { maxParams: 2, maxTelegramBytes: 9 },
    ops: [['params'], ['tg']],
    expect: [{ p: { a: '1', b: '2' } }, tg('T')],
  },
  {
    name: 'limit 1 param, a params block of 2 fails',
    input: 'a 1\nb 2\n\n',
    options: { maxParams: 1 },
    ops: [['params']],
    expect: [err('BLATHER', 'Exceeded maximum of 1 parameter lines')],
  },
  {
    name: 'limit 8 bytes, a params block of 9 fails',
    input: 'a 1\nb 2\n\n',
    options: { maxTelegramBytes: 8 },
    ops: [['params']],
    expect: [err('BLATHER', 'Exceeded maximum size of 8 bytes')],
  },
  {
    name: 'limits on a kvlines block pass',
    input: 'a 1\na 2\n\n',
    options: { maxParams: 2, maxTelegramBytes: 9 },
    ops: [['kv']],
    expect: [
      {
        kv: [
          ['a', '1'],
          ['a', '2'],
        ],
      },
    ],
  },
  {
    name: 'limit 1 param, a kvlines block of 2 fails',
    input: 'a 1\na 2\n\n',
    options: { maxParams: 1 },
    ops: [['kv']],
    expect: [err('BLATHER', 'Exceeded maximum of 1 parameter lines')],
  },
  {
    name: 'limit 8 bytes, a kvlines block of 9 fails',
    input: 'a 1\na 2\n\n',
    options: { maxTelegramBytes: 8 },
    ops: [['kv']],
    expect: [err('BLATHER', 'Exceeded maximum size of 8 bytes')],
  },
  {
    name: '25 EOF inside a line',
    input: 'hello\nk v',
    ops: [['tg']],
    expect: [err('DISCONNECTED', 'Disconnected')],
  },
  {
    name: '25 EOF after whole lines (stricter than 0.8)',
    input: 'hello\nk v\n',
    ops: [['tg']],
    expect: [err('DISCONNECTED', 'Disconnected')],
  },
  {
    name: '26 params block',
    input: 'a 1\nb 2\n\nT\n\n',
    ops: [['params'], ['tg']],
    expect: [{ p: { a: '1', b: '2' } }, tg('T')],
  },
  { name: '26 empty params', input: '\n', ops: [['params'], ['next']], expect: [{ p: {} }, END] },
  {
    name: '27 kvlines',
    input: 'a 1\na 2\n b\nzz\n\n',
    ops: [['kv']],
    expect: [
      {
        kv: [
          ['a', '1'],
          ['a', '2'],
          ['', 'b'],
        ],
      },
    ],
  },
  {
    name: '28 chunks then telegram',
    input: 'abcdeTOPIC\n\n',
    ops: [['chunks', 5], ['tg']],
    expect: [{ bytes: 'abcde' }, tg('TOPIC')],
  },
  {
    name: '29 pipelined bytes stay buffered',
    input: 'Ok\n\nxyzFail\nReason x\n\n',
    ops: [['tg'], ['bytes', 3], ['tg']],
    expect: [tg('Ok'), { bytes: 'xyz' }, tg('Fail', { Reason: 'x' })],
  },
  {
    name: '29 skip',
    input: '12345b\n\n',
    ops: [['skip', 5], ['tg']],
    expect: [{ skipped: 5 }, tg('b')],
  },
  {
    name: '32 errors are fatal',
    input: 'hel lo\nk v\n\n',
    ops: [['tg']],
    expect: [err('BLATHER', 'Invalid topic character')],
  },
  {
    name: '33 EOF inside a payload (stricter than 0.8)',
    input: 'a\n\n12',
    ops: [['tg'], ['bytes', 5]],
    expect: [tg('a'), err('DISCONNECTED', 'Disconnected: the data ended 3 bytes before')],
  },
  {
    name: '34 zero-length raw read completes at once',
    input: 'hello\n\nx\n\n',
    ops: [['tg'], ['chunks', 0], ['bytes', 0], ['skip', 0], ['tg']],
    expect: [tg('hello'), { bytes: '' }, { bytes: '' }, { skipped: 0 }, tg('x')],
  },
  {
    name: 'Msg header then metadata params and payload',
    input: 'Msg\n_Ch 42\nMetaLen 8\nLen 3\n\nk v\nx \n\nabcOk\n\n',
    ops: [['tg'], ['params'], ['bytes', 3], ['tg'], ['next']],
    expect: [
      tg('Msg', { _Ch: '42', MetaLen: '8', Len: '3' }),
      { p: { k: 'v', x: '' } },
      { bytes: 'abc' },
      tg('Ok'),
      END,
    ],
  },
  {
    name: 'non-ASCII key and value',
    input: 'T\nnamn Ålänning\nnyckel€ x\n\n',
    ops: [['tg']],
    expect: [err('BLATHER', 'Invalid key character')],
  },
  {
    name: 'non-ASCII letter key',
    input: 'T\nÅr 2026\n\n',
    ops: [['tg']],
    expect: [tg('T', { År: '2026' })],
  },
  { name: 'clean end before any frame', input: '', ops: [['next'], ['next']], expect: [END, END] },
  {
    name: 'end is an error for readTelegram',
    input: '',
    ops: [['tg']],
    expect: [err('DISCONNECTED', 'Disconnected')],
  },
];

function matches(actual: Outcome[], expected: Outcome[]): boolean {
  if (actual.length !== expected.length) return false;
  return expected.every((e, i) => {
    const a = actual[i] as Outcome;
    if ('error' in e) return 'error' in a && a.error === e.error && a.msg.startsWith(e.msg);
    return JSON.stringify(a) === JSON.stringify(e);
  });
}

describe('wire-protocol.md §5 vectors', () => {
  for (const v of vectors) {
    it(v.name, async () => {
      const bytes = typeof v.input === 'string' ? Buffer.from(v.input, 'utf8') : v.input;
      for (const parts of chunkings(bytes)) {
        const out = await runScript(parts, v.ops, v.options);
        assert.ok(
          matches(out, v.expect),
          `chunking ${JSON.stringify(parts.map((p) => p.length))}: got ${JSON.stringify(out)}`,
        );
      }
    });
  }
});
