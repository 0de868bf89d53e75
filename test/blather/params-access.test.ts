/**
 * Params beyond the vectors: lookups on decoded (lazy) params match whole
 * keys only, integers read from decoded bytes as from a string, the getters
 * with defaults, copies keep their secrets, the map views, the display
 * forms, and ownBytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { FrameReader } from '../../src/blather/index.ts';
import { Params } from '../../src/blather/params.ts';
import { I32, SAFE_INT, U16, U32 } from '../../src/blather/values.ts';
import { DdmwError } from '../../src/err.ts';
import { chunksOf } from '../helpers/chunks.ts';
import { within } from '../helpers/deadline.ts';

/** The params of the one telegram in `bytes`, decoded from a single chunk (the lazy fast path). */
async function decoded(bytes: Buffer): Promise<Params> {
  const reader = new FrameReader(chunksOf([bytes]));
  const tg = await within(reader.readTelegram(), 5000, 'the telegram');
  return tg.params;
}

describe('decoded params', () => {
  it('find a key by its whole name, not a prefix or a same-length other key', async () => {
    const p = await decoded(Buffer.from('Msg\nabc 1\nxy 2\n\n'));
    assert.equal(p.get('abc'), '1');
    assert.equal(p.get('xy'), '2');
    assert.equal(p.get('ab'), undefined, 'a prefix of a key');
    assert.equal(p.get('abcd'), undefined, 'a key longer than one present');
    assert.equal(p.get('zz'), undefined, 'same length as xy');
    assert.equal(p.has('ab'), false);
  });

  it('answer from the last duplicate', async () => {
    const p = await decoded(Buffer.from('Msg\nk 1\nk 2\n\n'));
    assert.equal(p.get('k'), '2');
    assert.equal(p.size, 1);
  });

  it('give the integer, or the error, that the same value set by hand gives', async () => {
    /** What `getInt` gives: the number, or the error's code and message. */
    const outcome = (p: Params, range: typeof U32) => {
      try {
        return p.getInt('N', range);
      } catch (err) {
        return err instanceof DdmwError ? `${err.code}: ${err.message}` : String(err);
      }
    };
    const digits = fc.stringMatching(/^[+-]?[0-9]{0,18}$/);
    const value = fc.oneof(
      digits,
      fc.constantFrom('0', '007', '9'.repeat(15), '9'.repeat(16), '1e3', ' 1', '1 '),
    );
    const range = fc.constantFrom(SAFE_INT, U32, U16, I32, { min: 5, max: 10 });
    // Other keys around it, and an earlier duplicate (the last one counts), as a telegram may have.
    const before = fc.constantFrom('', 'N 123\n', 'M 5\n', 'NN 7\nN 1\n');
    await fc.assert(
      fc.asyncProperty(value, range, before, async (v, r, earlier) => {
        const lazy = await decoded(Buffer.from(`Ok\n${earlier}N ${v}\nNo 9\n\n`));
        const built = new Params().set('N', v);
        assert.deepEqual(outcome(lazy, r), outcome(built, r), `value ${JSON.stringify(v)}`);
      }),
      { numRuns: 500 },
    );
  });

  it('no longer depend on the buffer once ownBytes has run', async () => {
    const bytes = Buffer.from('Msg\nkey value\nother thing\n\n');
    const p = await decoded(bytes);
    p.ownBytes();
    bytes.fill(0x21);
    assert.deepEqual(p.toObject(), { key: 'value', other: 'thing' });
  });

  it('ownBytes is harmless on params built by hand or already read', async () => {
    const hand = new Params({ a: '1' });
    hand.ownBytes();
    new Params().ownBytes();
    assert.deepEqual(hand.toObject(), { a: '1' });
    const p = await decoded(Buffer.from('Msg\nk v\n\n'));
    assert.equal(p.size, 1); // materialized
    p.ownBytes();
    assert.equal(p.get('k'), 'v');
  });
});

describe('getters with a default', () => {
  const p = new Params({ s: 'text', n: '42', b: 'no', bad: 'x' });

  it('getStrDef', () => {
    assert.equal(p.getStrDef('s', 'def'), 'text');
    assert.equal(p.getStrDef('missing', 'def'), 'def');
  });

  it('getBigIntDef', () => {
    assert.equal(p.getBigIntDef('n', 7n), 42n);
    assert.equal(p.getBigIntDef('missing', 7n), 7n);
    assert.throws(() => p.getBigIntDef('bad', 7n), { code: 'BLATHER' });
  });

  it('getBoolDef', () => {
    assert.equal(p.getBoolDef('b', true), false);
    assert.equal(p.getBoolDef('missing', true), true);
    assert.equal(p.getBoolDef('missing', false), false);
  });
});

describe('a copy of params', () => {
  it('keeps the values and every secret mark, independently of the original', () => {
    const orig = new Params({ user: 'me', pass: 'hunter2', token: 't0k3n' });
    orig.markSecret('pass').markSecret('token');
    const copy = new Params(orig);
    assert.deepEqual(copy.toObject(), orig.toObject());
    assert.equal(copy.toString(), '{user=me,pass=<redacted>,token=<redacted>}');
    copy.set('user', 'you');
    assert.equal(orig.get('user'), 'me');
  });
});

describe('params', () => {
  it('redact every key marked secret', () => {
    const p = new Params({ a: '1', b: '2', c: '3' }).markSecret('a').markSecret('b');
    assert.equal(p.toString(), '{a=<redacted>,b=<redacted>,c=3}');
    assert.equal(inspect(p), 'Params {a=<redacted>,b=<redacted>,c=3}');
  });

  it('delete a key, saying whether it was there', () => {
    const p = new Params({ a: '1', b: '2' });
    assert.equal(p.delete('a'), true);
    assert.equal(p.delete('a'), false);
    assert.deepEqual([...p.keys()], ['b']);
  });

  it('list their keys in insertion order', () => {
    assert.deepEqual(
      [
        ...new Params([
          ['z', 1],
          ['a', 2],
        ]).keys(),
      ],
      ['z', 'a'],
    );
  });

  it('give a map view that is a copy', () => {
    const p = new Params({ a: '1' });
    const m = p.toMap();
    assert.deepEqual([...m], [['a', '1']]);
    p.set('b', 2);
    assert.equal(m.size, 1);
  });

  it('refuse a number that cannot be written exactly, naming the way out', () => {
    for (const v of [2 ** 60, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => new Params().set('big', v),
        (e) => e instanceof DdmwError && e.code === 'BAD_INPUT' && /"big".*bigint/.test(e.message),
      );
    }
  });

  it('refuse a list item that is empty or holds a comma, naming the key', () => {
    for (const items of [['a', ''], ['a,b']]) {
      assert.throws(
        () => new Params().setList('tags', items),
        (e) =>
          e instanceof DdmwError &&
          e.code === 'BLATHER' &&
          /"tags".*empty or contains ','/.test(e.message),
      );
    }
  });
});
