/** The display forms of Telegram and KVLines under util.inspect, and a block with trailing bytes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { decodeParams, KVLines, Telegram } from '../../src/blather/index.ts';
import { rejectsCode } from '../helpers/errors.ts';

describe('display forms', () => {
  it('of a Telegram: its topic and params, secrets redacted', () => {
    const tg = new Telegram('Login', { user: 'me', pass: 'hunter2' });
    tg.params.markSecret('pass');
    assert.equal(inspect(tg), 'Telegram Login:{user=me,pass=<redacted>}');
  });

  it('of KVLines: every line in order, duplicates kept', () => {
    const lines = new KVLines();
    lines.append('a', '1');
    lines.append('b', 'two words');
    lines.append('a', '3');
    assert.equal(inspect(lines), 'KVLines [a=1, b=two words, a=3]');
  });
});

describe('decodeParams', () => {
  it('refuses bytes after the empty line that ends the block, saying so', async () => {
    const err = await rejectsCode(decodeParams(Buffer.from('k v\n\nmore')), 'BLATHER');
    assert.match(err.message, /Bytes follow the empty line/);
  });
});
