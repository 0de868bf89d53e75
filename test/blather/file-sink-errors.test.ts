/**
 * writeChunksToFile when things go wrong: a path that cannot be opened, a
 * write that fails or takes no bytes, a feed that ends early. The call
 * rejects (IO for the file's faults), the feed still runs to its end so the
 * byte stream stays in sync, and only a file the call made is removed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, before, describe, it, after as onEnd } from 'node:test';
import { writeChunksToFile } from '../../src/blather/file-sink.ts';
import { DdmwError } from '../../src/err.ts';
import { type CountedFeed, feedOf } from '../helpers/chunk-feeds.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { spyWritev, type WritevPlan, type WritevSpy } from '../helpers/writev-spy.ts';

const MiB = 1024 * 1024;

let dir: string;
let spy: WritevSpy | undefined;
let n = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-file-sink-errors-'));
});
afterEach(() => {
  spy?.restore();
  spy = undefined;
});
onEnd(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh, empty directory for one test. */
async function freshDir(): Promise<string> {
  const d = join(dir, `case-${n++}`);
  await mkdir(d);
  return d;
}

/** An I/O error as the file system reports it. */
function eio(): Error {
  return Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
}

/** Asserts that `fed` handed over all of `payload`. */
function assertFedAll(fed: CountedFeed, payload: Buffer): void {
  assert.equal(fed.bytes, payload.length, 'the feed ran to its end');
}

describe('a path that cannot be opened', () => {
  it('(a directory) rejects with IO after the whole feed, leaving the directory as it was', async () => {
    const d = await freshDir();
    const payload = randomBytes(3 * MiB + 1);
    const fed = feedOf(payload, 65_536);
    const err = await rejectsCode(writeChunksToFile(d, undefined, fed.feed), 'IO');
    assertFedAll(fed, payload);
    assert.match(err.message, /Cannot write payload to/);
    assert.ok(err.message.includes(d), 'the message names the path');
    assert.ok((await lstat(d)).isDirectory());
    assert.deepEqual(await readdir(d), []);
  });

  it('(in a missing directory) rejects with IO after the whole feed and creates nothing', async () => {
    const d = await freshDir();
    const payload = randomBytes(100_000);
    const fed = feedOf(payload, 4096, { lent: true });
    const path = join(d, 'missing', 'out.bin');
    await rejectsCode(writeChunksToFile(path, undefined, fed.feed, { copy: true }), 'IO');
    assertFedAll(fed, payload);
    assert.deepEqual(await readdir(d), []);
  });

  it('(a dangling symbolic link) rejects with IO and leaves the link alone', async () => {
    const d = await freshDir();
    const link = join(d, 'link');
    const dest = join(d, 'missing', 'out.bin');
    await symlink(dest, link);
    const payload = randomBytes(1000);
    const fed = feedOf(payload, 100);
    await rejectsCode(writeChunksToFile(link, undefined, fed.feed), 'IO');
    assertFedAll(fed, payload);
    assert.ok((await lstat(link)).isSymbolicLink(), 'the link is still there');
    assert.equal(await readlink(link), dest);
  });
});

/** Writes `payload` to a new file with `plan` deciding each write; returns the error and the file. */
async function failingWrite(
  payload: Buffer,
  plan: WritevPlan,
  opts: { lent: boolean; slow?: boolean },
): Promise<{ err: DdmwError; path: string; fed: CountedFeed }> {
  const path = join(await freshDir(), 'out.bin');
  spy = await spyWritev(dir, plan);
  const fed = feedOf(payload, MiB, opts);
  const err = await rejectsCode(
    writeChunksToFile(path, undefined, fed.feed, { copy: opts.lent }),
    'IO',
  );
  assertFedAll(fed, payload);
  await assert.rejects(lstat(path), { code: 'ENOENT' }, 'the partial file is removed');
  assert.ok(err.message.includes(path), 'the message names the path');
  return { err, path, fed };
}

for (const lent of [false, true]) {
  describe(lent ? 'lent chunks: a write' : 'owned chunks: a write', () => {
    it('that fails stops the writing, reads the feed to its end and rejects with IO', async () => {
      const payload = randomBytes(6 * MiB);
      const { err } = await failingWrite(payload, (i) => (i === 0 ? eio() : undefined), {
        lent,
        slow: true,
      });
      assert.equal((err.cause as { code?: string }).code, 'EIO');
      assert.equal(spy?.calls.length, 1, 'no batch written after the failure');
    });

    it('that fails in the last batch is reported', async () => {
      const payload = randomBytes(5 * MiB + 7);
      await failingWrite(payload, (i) => (i === 2 ? eio() : undefined), { lent });
      assert.equal(spy?.calls.length, 3);
    });

    it('that takes no bytes rejects (no endless retry)', async () => {
      const payload = randomBytes(MiB + 3);
      const { err } = await failingWrite(payload, () => 0, { lent });
      assert.match(err.message, /took no bytes/);
      assert.equal(spy?.calls.length, 1);
    });
  });
}

describe('a feed that fails', () => {
  for (const lent of [false, true]) {
    it(`rejects with its error and removes the partial file (${lent ? 'lent' : 'owned'})`, async () => {
      const path = join(await freshDir(), 'out.bin');
      const cause = new DdmwError('DISCONNECTED', 'the data ended inside the payload');
      const payload = randomBytes(5 * MiB);
      const fed = feedOf(payload, MiB, { lent, fail: cause, failAfter: 3 * MiB });
      const done = writeChunksToFile(path, undefined, fed.feed, { copy: lent });
      await assert.rejects(within(done, 10_000, 'the write to fail'), (e) => e === cause);
      assert.equal(fed.bytes, 3 * MiB);
      await assert.rejects(lstat(path), { code: 'ENOENT' }, 'the partial file is removed');
    });
  }
});
