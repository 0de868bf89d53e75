/**
 * writeChunksToFile on a working disk: exact content in both modes (owned
 * chunks, and lent chunks the caller overwrites), batches of 2 MiB written
 * at their offsets with at most two writes under way, short writes resumed
 * where they stopped, empty payloads, truncation and the file mode.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, before, describe, it, after as onEnd } from 'node:test';
import { writeChunksToFile } from '../../src/blather/file-sink.ts';
import { feedOf } from '../helpers/chunk-feeds.ts';
import { within } from '../helpers/deadline.ts';
import { sha } from '../helpers/sha.ts';
import { spyWritev, type WritevPlan, type WritevSpy } from '../helpers/writev-spy.ts';

const MiB = 1024 * 1024;
const BATCH = 2 * MiB;

let dir: string;
let spy: WritevSpy | undefined;
let n = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-file-sink-'));
});
afterEach(() => {
  spy?.restore();
  spy = undefined;
});
onEnd(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh file name in the test directory. */
function target(): string {
  return join(dir, `out-${n++}.bin`);
}

/** Writes `payload` in chunks of `size` to a new file with writev spied on; returns the file. */
async function write(
  payload: Buffer,
  size: number,
  opts: { lent?: boolean; plan?: WritevPlan; mode?: number } = {},
): Promise<string> {
  const path = target();
  spy = await spyWritev(dir, opts.plan);
  const fed = feedOf(payload, size, { lent: opts.lent });
  await within(
    writeChunksToFile(path, opts.mode, fed.feed, { copy: opts.lent }),
    20_000,
    'the payload written',
  );
  assert.equal(fed.bytes, payload.length, 'the whole payload was fed');
  return path;
}

/** Where each write asked to start, in order of position. */
function positions(): number[] {
  return (spy?.calls ?? []).map((c) => Number(c.position)).sort((a, b) => a - b);
}

/**
 * Where writes start when each takes at most `step` bytes: every batch from
 * its offset on. A batch of lent chunks is 2 MiB exactly; one of owned chunks
 * of `size` bytes ends with the chunk that reaches 2 MiB.
 */
function shortWritePositions(total: number, size: number, lent: boolean, step: number): number[] {
  const batchBytes = lent ? BATCH : Math.ceil(BATCH / size) * size;
  const out: number[] = [];
  for (let batch = 0; batch < total; batch += batchBytes) {
    const end = Math.min(batch + batchBytes, total);
    for (let at = batch; at < end; at += step) out.push(at);
  }
  return out;
}

/** Asserts the file holds exactly `payload`. */
async function assertHolds(path: string, payload: Buffer): Promise<void> {
  const got = await readFile(path);
  assert.equal(got.length, payload.length, 'file size');
  assert.equal(sha(got), sha(payload), 'file content');
}

for (const lent of [false, true]) {
  describe(lent ? 'lent chunks (copy: true)' : 'owned chunks', () => {
    it('writes a payload of several batches in odd chunks exactly', async () => {
      const payload = randomBytes(5 * MiB + 12_345);
      const path = await write(payload, 65_537, { lent });
      await assertHolds(path, payload);
    });

    it('writes full 2 MiB batches at their offsets, then the rest', async () => {
      const payload = randomBytes(5 * MiB + 7);
      const path = await write(payload, lent ? 100_003 : MiB, { lent });
      await assertHolds(path, payload);
      const calls = spy?.calls ?? [];
      assert.deepEqual(
        calls.map((c) => [c.position, c.bytes]),
        [
          [0, BATCH],
          [BATCH, BATCH],
          [2 * BATCH, MiB + 7],
        ],
      );
    });

    it('keeps at most two writes under way', async () => {
      const payload = randomBytes(6 * BATCH);
      const path = await write(payload, MiB, { lent });
      await assertHolds(path, payload);
      assert.equal(spy?.calls.length, 6);
      assert.equal(spy?.maxInFlight, 2);
    });

    it('resumes a short write where it stopped, inside a chunk', async () => {
      const payload = randomBytes(5 * MiB + 3);
      const path = await write(payload, 65_537, { lent, plan: () => 1_000_003 });
      await assertHolds(path, payload);
      assert.deepEqual(positions(), shortWritePositions(payload.length, 65_537, lent, 1_000_003));
    });

    it('resumes a short write that ends on a chunk boundary', async () => {
      const payload = randomBytes(3 * MiB + 5);
      const path = await write(payload, 65_537, { lent, plan: () => 3 * 65_537 });
      await assertHolds(path, payload);
      assert.deepEqual(positions(), shortWritePositions(payload.length, 65_537, lent, 3 * 65_537));
    });

    it('creates an empty file for an empty payload, without writing', async () => {
      const path = await write(Buffer.alloc(0), 1024, { lent });
      assert.equal((await stat(path)).size, 0);
      assert.equal(spy?.calls.length, 0);
    });
  });
}

describe('owned chunks', () => {
  it('are written as they are, without a copy', async () => {
    const payload = randomBytes(3 * MiB);
    const parts = [payload.subarray(0, MiB), payload.subarray(MiB, 2 * MiB)];
    const path = target();
    spy = await spyWritev(dir);
    await within(
      writeChunksToFile(path, undefined, async (onChunk) => {
        for (const p of parts) await onChunk(p);
      }),
      10_000,
      'the payload written',
    );
    const given = spy.calls[0]?.buffers ?? [];
    assert.equal(given.length, 2, 'one batch of the two chunks');
    given.forEach((b, i) => {
      assert.equal(b.buffer, payload.buffer, `chunk ${i} shares the caller's memory`);
      assert.equal(b.byteOffset, parts[i]?.byteOffset);
    });
  });

  it('ignore an empty chunk at the end', async () => {
    const payload = randomBytes(1000);
    const path = target();
    await within(
      writeChunksToFile(path, undefined, async (onChunk) => {
        await onChunk(payload);
        await onChunk(Buffer.alloc(0));
      }),
      10_000,
      'the payload written',
    );
    await assertHolds(path, payload);
  });

  it('of zero bytes only make an empty file', async () => {
    const path = target();
    await within(
      writeChunksToFile(path, undefined, (onChunk) => onChunk(Buffer.alloc(0))),
      10_000,
      'the payload written',
    );
    assert.equal((await stat(path)).size, 0);
  });
});

describe('lent chunks', () => {
  it('are copied into at most three reused batch buffers', async () => {
    const payload = randomBytes(6 * BATCH);
    const path = await write(payload, 100_003, { lent: true });
    await assertHolds(path, payload);
    const memories = new Set(spy?.calls.map((c) => c.buffers[0]?.buffer));
    assert.equal(spy?.calls.length, 6);
    assert.equal(memories.size, 3, 'two batches being written and one gathering');
  });
});

describe('the file', () => {
  it('is truncated when it already exists', async () => {
    const path = target();
    await writeFile(path, randomBytes(3 * MiB));
    const payload = randomBytes(1000);
    await within(
      writeChunksToFile(path, undefined, (onChunk) => onChunk(payload)),
      10_000,
      'the payload written',
    );
    await assertHolds(path, payload);
  });

  it('is created with the mode asked for', async () => {
    const payload = randomBytes(10);
    const path = await write(payload, 4, { mode: 0o600 });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    await assertHolds(path, payload);
  });
});
