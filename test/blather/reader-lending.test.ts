/**
 * FrameReader over a source that lends its chunks: what the reader hands
 * out without a copy and what it copies (readChunks with and without
 * `keep`, readToFile), and that it never gives a chunk back while a caller
 * still holds a piece of it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FrameReader } from '../../src/blather/reader.ts';
import { within } from '../helpers/deadline.ts';
import { sha } from '../helpers/sha.ts';
import { LendingSource } from '../helpers/test-sources.ts';

const KiB = 1024;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-reader-lending-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `payload` cut into parts of `size` bytes. */
function parts(payload: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < payload.length; at += size) out.push(payload.subarray(at, at + size));
  return out;
}

describe('a reader over a lending source', () => {
  it('hands readChunks pieces of the lent memory itself', async () => {
    const payload = randomBytes(10 * KiB);
    const src = new LendingSource(parts(payload, 4 * KiB));
    const reader = new FrameReader(src);
    const seen: Buffer[] = [];
    await within(
      reader.readChunks(payload.length, (piece) => {
        assert.ok(src.lent(piece), 'a view, not a copy');
        seen.push(Buffer.from(piece));
      }),
      5000,
      'the chunks',
    );
    assert.equal(sha(Buffer.concat(seen)), sha(payload));
  });

  it('hands readChunks copies to keep when asked', async () => {
    const payload = randomBytes(10 * KiB);
    const src = new LendingSource(parts(payload, 4 * KiB));
    const reader = new FrameReader(src);
    const kept: Buffer[] = [];
    await within(
      reader.readChunks(payload.length, (piece) => void kept.push(piece), { keep: true }),
      5000,
      'the chunks',
    );
    assert.equal(kept.length, 3);
    assert.ok(
      kept.every((k) => !src.lent(k)),
      'copies',
    );
    assert.equal(sha(Buffer.concat(kept)), sha(payload), 'intact after the source moved on');
  });

  it('writes a payload of several batches to a file intact', async () => {
    const payload = randomBytes(5 * 1024 * KiB + 99);
    const src = new LendingSource(parts(payload, 64 * KiB + 1));
    const reader = new FrameReader(src);
    const path = join(dir, 'payload.bin');
    await within(reader.readToFile(path, payload.length), 20_000, 'the file written');
    assert.equal(sha(await readFile(path)), sha(payload));
  });

  it('gives each chunk back once, as soon as it is used up', async () => {
    const src = new LendingSource([Buffer.from('abcd'), Buffer.from('efgh')]);
    const reader = new FrameReader(src);
    assert.deepEqual(await within(reader.readBytes(4), 5000, 'four bytes'), Buffer.from('abcd'));
    assert.equal(src.releases, 1, 'the first chunk given back');
    reader.ownBuffered();
    assert.equal(src.releases, 1, 'nothing left to give back');
    assert.deepEqual(await within(reader.readBytes(2), 5000, 'two bytes'), Buffer.from('ef'));
    assert.equal(src.releases, 1, 'the second chunk is still in use');
  });

  it('does not give a chunk back while a readChunks caller holds a piece of it', async () => {
    const src = new LendingSource([Buffer.from('hello world')]);
    const reader = new FrameReader(src);
    let text = '';
    await within(
      reader.readChunks(5, (piece) => {
        reader.ownBuffered();
        text = piece.toString();
      }),
      5000,
      'the chunk',
    );
    assert.equal(text, 'hello');
    assert.equal(src.releases, 0, 'nothing given back during the read');
    reader.ownBuffered();
    assert.equal(src.releases, 1, 'given back between frames');
    assert.deepEqual(await within(reader.readBytes(6), 5000, 'the rest'), Buffer.from(' world'));
  });
});
