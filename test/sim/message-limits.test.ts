/**
 * The sender node's checks of an announced message before its `Ok`: the
 * largest message it accepts, and the room left in the spool. A refused
 * `Msg` gets `Fail` with a reason, nothing is spooled, and the connection
 * stays usable.
 */
import assert from 'node:assert/strict';
import { readdir, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { startSimulator } from '../../src/sim/index.ts';
import { limitSettings } from '../../src/sim/limits.ts';
import { SpoolSpace } from '../../src/sim/node/spool-space.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { MiB, setup } from './limits-helpers.ts';
import {
  expectFail,
  expectOk,
  failOnUnhandledRejections,
  sendMsg,
  type WireClient,
} from './wire-client.ts';

failOnUnhandledRejections();

const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

/** Free bytes of the file system of `dir`, for an unprivileged user. */
async function freeBytes(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return fs.bavail * fs.bsize;
}

/** Checks that `c` is still served, and that a small message still goes through it. */
async function stillUsable(c: WireClient): Promise<void> {
  assert.equal((await expectOk(c, 'WhoAmI')).Name, 'all');
  await sendMsg(c, { ch: 1, payload: Buffer.from('after the refusal') });
}

describe('message limits', () => {
  it('a Msg over maxMessageBytes is refused before its bytes; one at the limit is taken', async () => {
    const t = await setup({ limits: { maxMessageBytes: MiB } });
    try {
      const c = await t.sender();
      const reason = await expectFail(c, 'Msg', { _Ch: '1', MetaLen: 1, Len: MiB });
      assert.match(
        reason,
        /^MetaLen \+ Len = 1048577 bytes is larger than the node accepts \(1048576 bytes\)$/,
      );
      await stillUsable(c);
      await sendMsg(c, { ch: 1, meta: Buffer.alloc(1), payload: Buffer.alloc(MiB - 1) });
      const stats = t.sim.stats();
      assert.equal(stats.msgsRejected, 1);
      assert.equal(stats.msgsAccepted, 2);
    } finally {
      await t.stop();
    }
  });

  it('the link’s maxTransferBytes bounds a message too, when it is the smaller', async () => {
    const t = await setup({ link: { maxTransferBytes: 64 * 1024 } });
    try {
      const reason = await expectFail(await t.sender(), 'Msg', { _Ch: '1', Len: 64 * 1024 + 1 });
      assert.match(reason, /larger than the node accepts \(65536 bytes\)$/);
    } finally {
      await t.stop();
    }
  });

  it('a Msg that would leave the spool less than spoolMinFreeBytes is refused; a small one (kept in memory) is not', async () => {
    const t = await setup({ limits: { spoolMinFreeBytes: 2 ** 52 } });
    try {
      const c = await t.sender();
      const reason = await expectFail(c, 'Msg', { _Ch: '1', Len: MiB });
      assert.match(
        reason,
        /^Not enough room in the spool: the message needs 1048576 bytes, 0 are available$/,
      );
      await sendMsg(c, { ch: 1, payload: Buffer.alloc(64 * 1024) });
      await stillUsable(c);
      assert.equal(t.sim.stats().msgsRejected, 1);
    } finally {
      await t.stop();
    }
  });

  it('a Msg announcing more than the spool’s file system has free is refused, nothing spooled', async (ctx) => {
    const big = { maxMessageBytes: 3 * TiB, spoolMinFreeBytes: 0 };
    const t = await setup({ limits: big, link: { maxTransferBytes: 3 * TiB } });
    try {
      const spool = t.spoolDir;
      const len = (await freeBytes(spool)) + GiB;
      if (len > 3 * TiB) {
        ctx.skip('the spool has more than 3 TiB free: no message can outgrow it');
        return;
      }
      const c = await t.sender();
      const reason = await expectFail(c, 'Msg', { _Ch: '1', Len: len });
      assert.match(
        reason,
        new RegExp(`^Not enough room in the spool: the message needs ${len} bytes`),
      );
      assert.deepEqual(await readdir(spool), [], 'nothing spooled');
      await stillUsable(c);
    } finally {
      await t.stop();
    }
  });
});

describe('room in the spool', () => {
  it('counts what the uploads in progress claimed until they give it back', async (ctx) => {
    const dir = tmpdir();
    const free = await freeBytes(dir);
    if (free < 4 * GiB) {
      ctx.skip('less than 4 GiB free: too little for a margin against other writers');
      return;
    }
    // 3 GiB left above the reserve: a claim of 2 GiB fits once, not twice.
    const space = new SpoolSpace(dir, free - 3 * GiB);
    const first = await space.claim(2 * GiB);
    await assert.rejects(space.claim(2 * GiB), /Not enough room in the spool/);
    first();
    first(); // a second call gives nothing back twice
    const again = await space.claim(2 * GiB);
    await assert.rejects(space.claim(2 * GiB), /Not enough room in the spool/);
    again();
  });

  it('a missing spool folder refuses the message with the reason', async () => {
    const space = new SpoolSpace('/nonexistent/ddmw-spool', 0);
    await assert.rejects(space.claim(MiB), /The free space of the spool cannot be read: ENOENT/);
  });
});

describe('limit options', () => {
  it('have defaults, and refuse values out of range with BAD_INPUT naming the option', async () => {
    assert.equal(limitSettings(undefined).maxConnections, 256);
    assert.equal(limitSettings({ authFailDelayMs: 0 }).authFailDelayMs, 0);
    for (const [limits, why] of [
      [{ maxConnections: 0 }, /limits.maxConnections must be an integer from 1 to 1000000, got 0/],
      [
        { stallTimeoutMs: 2 ** 31 },
        /limits.stallTimeoutMs must be an integer from 1 to 2147483647/,
      ],
      [{ passwordQueue: 1.5 }, /limits.passwordQueue must be an integer/],
      [{ authFailDelayMs: 500, authFailDelayMaxMs: 100 }, /must be in order/],
    ] as const) {
      assert.throws(() => limitSettings(limits), why);
    }
    const err = await rejectsCode(startSimulator({ limits: { loginTimeoutMs: -1 } }), 'BAD_INPUT');
    assert.match(err.message, /^Simulator option limits.loginTimeoutMs must be/);
  });
});
