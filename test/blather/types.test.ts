/**
 * Telegram, Params, KVLines, value conventions and the encoder
 * (wire-protocol.md §5 vectors 5-12, 30, 31, 35, 36).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  encodeKVLines,
  encodeParams,
  encodeTelegram,
  I64,
  KVLines,
  Params,
  Telegram,
  U16,
  U32,
  validateKey,
  validateTopic,
} from '../../src/blather/index.ts';
import { DdmwError } from '../../src/err.ts';

function throwsCode(fn: () => unknown, code: string, msg?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DdmwError, `not a DdmwError: ${e}`);
    assert.equal(e.code, code);
    if (msg) assert.ok(e.message.startsWith(msg), e.message);
    return true;
  });
}

describe('topic and key validation (vectors 5, 6)', () => {
  it('accepts valid topics', () => {
    for (const t of ['Foobar', 'shoe0nhead', 'Hälsning', '日本', 'a_-1']) validateTopic(t);
  });
  it('rejects invalid topics with the blather message', () => {
    throwsCode(() => validateTopic(''), 'BLATHER', 'Empty or broken topic');
    for (const t of ['foo bar', 'Some Topic', 'Hell o']) {
      throwsCode(() => validateTopic(t), 'BLATHER', 'Invalid topic character');
    }
    for (const t of [' foobar', ' SomeTopic', '1abc', '\uFEFFbom']) {
      throwsCode(() => validateTopic(t), 'BLATHER', 'Invalid leading topic character');
    }
  });
  it('validates keys', () => {
    for (const k of ['_Ch', '1st', 'a.b', 'x=y', '::', '#', '0.Id', 'År']) validateKey(k);
    throwsCode(() => validateKey('hell o'), 'BLATHER', 'Invalid key character');
    throwsCode(() => validateKey(''), 'BLATHER', 'Empty or broken key');
    for (const k of ['k\tx', '€', '°', 'a\nb']) throwsCode(() => validateKey(k), 'BLATHER');
  });
});

describe('sizes and display (vectors 7, 8)', () => {
  it('computes calc_buf_size', () => {
    const p = new Params({ foo: 'bar', moo: 'cow' });
    assert.equal(p.encodedSize(), 17);
    assert.equal(new Telegram('hello', p).encodedSize(), 23);
    assert.equal(encodeTelegram(new Telegram('hello', p)).length, 23);
  });
  it('displays like blather', () => {
    assert.equal(new Params({ foo: 'bar' }).toString(), '{foo=bar}');
    assert.equal(new Telegram('hello', { foo: 'bar' }).toString(), 'hello:{foo=bar}');
  });
  it('redacts secret values in display and inspect, not on the wire', () => {
    const tg = new Telegram('Auth', { AccName: 'frank', Pass: 'hunter2' });
    tg.params.markSecret('Pass');
    assert.ok(!tg.toString().includes('hunter2'));
    assert.ok(!inspect(tg).includes('hunter2'));
    assert.ok(!inspect({ nested: tg.params }).includes('hunter2'));
    assert.ok(encodeTelegram(tg).toString().includes('Pass hunter2\n'));
  });
});

describe('typed getters (vectors 9-12, 30, 31, 36)', () => {
  it('integers', () => {
    const p = new Params({ a: '64', b: '11' });
    assert.equal(p.getInt('a', U16), 64);
    assert.equal(p.getInt('b', U16), 11);
    assert.equal(p.getIntDef('missing', 42), 42);
    assert.equal(new Params().set('Num', 7).get('Num'), '7');
    const ok: [string, number][] = [
      ['+5', 5],
      ['007', 7],
      ['4294967295', 4294967295],
    ];
    for (const [text, n] of ok) assert.equal(new Params({ n: text }).getInt('n', U32), n);
    for (const text of ['-1', ' 5', '5 ', '0x10', '1_000', '4294967296', '', '+', '-', '1e3']) {
      throwsCode(
        () => new Params({ n: text }).getInt('n', U32),
        'BLATHER',
        'Unable to parse numeric value from parameter "n"',
      );
    }
  });
  it('bigints are exact beyond 2^53', () => {
    const p = new Params({ Len: '18446744073709551615', Neg: '-9223372036854775808' });
    assert.equal(p.getBigInt('Len'), 18446744073709551615n);
    assert.equal(p.getBigInt('Neg', I64), -9223372036854775808n);
    throwsCode(() => new Params({ Len: '18446744073709551616' }).getBigInt('Len'), 'BLATHER');
    throwsCode(() => p.getInt('Len'), 'BLATHER');
    assert.equal(new Params().set('Len', 2n ** 60n).get('Len'), '1152921504606846976');
  });
  it('a bad value is an error even with a default', () => {
    throwsCode(() => new Params({ n: 'x' }).getIntDef('n', 1), 'BLATHER');
    throwsCode(() => new Params({ b: 'on' }).getBoolDef('b', true), 'BLATHER');
  });
  it('missing keys', () => {
    throwsCode(
      () => new Params().getInt('ford', U32),
      'MISSING_DATA',
      'Parameter "ford" not found',
    );
    throwsCode(() => new Params().getBool('b'), 'MISSING_DATA');
    assert.equal(new Params().getIntDef('nonexist', 11, U32), 11);
  });
  it('booleans', () => {
    const p = new Params().setBool('t', true).setBool('f', false).set('x', true);
    assert.equal(p.get('t'), 'True');
    assert.equal(p.get('f'), 'False');
    assert.equal(p.get('x'), 'True');
    assert.equal(p.getBool('t'), true);
    assert.equal(p.getBool('f'), false);
    for (const v of ['YES', 't', '1', 'True', 'y'])
      assert.equal(new Params({ b: v }).getBool('b'), true);
    for (const v of ['No', 'F', '0', 'false', 'n'])
      assert.equal(new Params({ b: v }).getBool('b'), false);
    for (const v of ['on', ' true', '']) {
      throwsCode(() => new Params({ b: v }).getBool('b'), 'BLATHER', 'Unrecognized boolean value');
    }
  });
  it('lists and sets', () => {
    assert.deepEqual(new Params({ l: '' }).getStrList('l'), []);
    assert.deepEqual(new Params({ l: 'foo' }).getStrList('l'), ['foo']);
    assert.deepEqual(new Params({ l: 'foo,bar' }).getStrList('l'), ['foo', 'bar']);
    assert.deepEqual(new Params({ l: 'a,,b, c,' }).getStrList('l'), ['a', 'b', ' c']);
    assert.deepEqual(new Params().getStrList('missing'), []);
    assert.equal(new Params().setList('l', ['meow', 'paws', 'tail']).get('l'), 'meow,paws,tail');
    assert.equal(new Params().setList('l', ['foo']).get('l'), 'foo');
    assert.equal(new Params().setList('l', new Set(['a', 'b'])).getStrSet('l').size, 2);
    throwsCode(() => new Params().setList('l', ['a,b']), 'BLATHER');
    throwsCode(() => new Params().setList('l', ['']), 'BLATHER');
  });
  it('setters refuse what cannot travel', () => {
    throwsCode(
      () => new Params().set('k', 'a\nb'),
      'BLATHER',
      'The value of parameter "k" contains a line feed',
    );
    throwsCode(() => new Params().set('k', 'a\r'), 'BLATHER');
    throwsCode(() => new Params().set('k', 'a\uD800'), 'BLATHER');
    throwsCode(() => new Params().set('bad key', 'v'), 'BLATHER');
    throwsCode(() => new Params().set('n', Number.NaN), 'BAD_INPUT');
    throwsCode(() => new Params().set('n', 2 ** 60), 'BAD_INPUT');
    throwsCode(() => new Telegram('bad topic'), 'BLATHER');
  });
  it('error messages never quote a value', () => {
    assert.throws(
      () => new Params({ Pass: 'hunter2x' }).getInt('Pass'),
      (e: unknown) => {
        assert.ok(e instanceof DdmwError && e.code === 'BLATHER', String(e));
        assert.match(e.message, /Pass/, 'the message names the key');
        assert.ok(!e.message.includes('hunter2x'), e.message);
        return true;
      },
    );
  });
});

describe('encoder (vector 35)', () => {
  it('encodes the exact bytes', () => {
    assert.equal(encodeTelegram(new Telegram('Ok')).toString(), 'Ok\n\n');
    assert.equal(encodeParams(new Params()).toString(), '\n');
    assert.equal(encodeKVLines(new KVLines()).toString(), '\n');
    const tg = new Telegram('hello', [
      ['foo', 'bar'],
      ['e', ''],
    ]);
    assert.equal(encodeTelegram(tg).toString(), 'hello\nfoo bar\ne \n\n');
    const kv = new KVLines().append('a', '1').append('a', '2').append('', 'x');
    assert.equal(encodeKVLines(kv).toString(), 'a 1\na 2\n x\n\n');
  });
  it('refuses values that would break framing', () => {
    throwsCode(() => encodeKVLines([['k', 'a\nb']]), 'BLATHER');
    throwsCode(() => encodeKVLines([['k k', 'v']]), 'BLATHER');
  });
  it('KVLines keeps order and duplicates', () => {
    const kv = new KVLines([
      ['a', '1'],
      ['b', '2'],
      ['a', '3'],
    ]);
    assert.deepEqual(kv.getAll('a'), ['1', '3']);
    assert.equal(kv.length, 3);
    assert.equal(kv.encodedSize(), encodeKVLines(kv).length);
  });
});
