/**
 * Nothing from outside enters the link, and no uploader holds it: forged
 * and malformed datagrams sent to the UDP link by another party are
 * rejected and counted while genuine traffic flows; a stalled upload does
 * not hold back the others (cut-through); an upload that fails midway is
 * never delivered and is reported.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import { Telegram } from '../../src/blather/index.ts';
import { type LossEvent, startSimulator } from '../../src/sim/index.ts';
import { FrameType, MAX_HEADER_SIZE } from '../../src/sim/link/format.ts';
import { parseMsgHeader } from '../../src/sim/node/message.ts';
import { waitFor, within } from '../helpers/deadline.ts';
import { sha } from '../helpers/sha.ts';
import { controlFrame, dataFrames, resealed, testLink } from './link-frames.ts';
import { readMsg, sendMsg, WireClients } from './wire-client.ts';

const ALL = { name: 'all', pass: 'pw' };

async function rig(transport: 'stream' | 'udp') {
  const log: string[] = [];
  const sim = await startSimulator({
    accounts: [{ ...ALL, perms: ['*'] }],
    link: { transport },
    log: (line) => log.push(line),
  });
  const losses: LossEvent[] = [];
  sim.on('loss', (e) => losses.push(e));
  const clients = new WireClients();
  const sub = await clients.subscriber(sim.receiver.subif, 42, ALL);
  const stop = async () => {
    clients.destroyAll();
    await sim.close();
  };
  return { sim, log, losses, clients, sub, stop };
}

/** What a forger on the same host can send: everything but the link's key. */
function forgeries(): Buffer[] {
  const guess = testLink(64000); // another key and session: the forger's best guess
  const header = Buffer.from('Msg\n_Ch 42\nXferId ../../pwned\nCmd 0\nMetaLen 0\nLen 5\n\n');
  const forged = dataFrames(guess, 1, header, Buffer.from('pwned'), 1);
  const huge = resealed(guess.key, forged[0] as Buffer, (b) => b.writeUInt32BE(0xffffffff, 28));
  const negative = resealed(guess.key, forged[0] as Buffer, (b) => b.writeBigInt64BE(-100n, 32));
  const sparse = resealed(guess.key, forged[0] as Buffer, (b) => {
    b.writeBigUInt64BE(64n * 2n ** 30n, 32); // 64 GiB
    b.writeBigUInt64BE(64n * 2n ** 30n - 10n, 40);
  });
  const beat = controlFrame(guess, FrameType.heartbeat, 1, 2 ** 40);
  return [...forged, huge, negative, sparse, beat, randomBytes(81), Buffer.from('DDL1hello')];
}

describe('forged frames', () => {
  it('are rejected and counted on the UDP link while genuine messages flow', async () => {
    const r = await rig('udp');
    const udp = createSocket('udp4');
    try {
      const at = r.log.find((line) => line.startsWith('link: receiving on UDP 127.0.0.1:'));
      const port = Number(/:(\d+) /.exec(at ?? '')?.[1]);
      assert.ok(port > 0, `the link's UDP port is logged: ${at}`);
      const snd = await r.clients.open(r.sim.sender.msgif, ALL);
      const bad = forgeries();
      const first = randomBytes(100_000);
      const firstId = await sendMsg(snd, { ch: 42, payload: first });
      for (let round = 0; round < 20; round++) {
        for (const frame of bad) udp.send(frame, port, '127.0.0.1');
      }
      const second = randomBytes(1000);
      const secondId = await sendMsg(snd, { ch: 42, payload: second });
      const got1 = await within(readMsg(r.sub), 10_000, 'the first genuine message');
      const got2 = await within(readMsg(r.sub), 10_000, 'the second genuine message');
      assert.deepEqual(
        [got1?.params.XferId, got1?.payloadSha, got2?.params.XferId, got2?.payloadSha],
        [firstId, sha(first), secondId, sha(second)],
        'exactly the genuine messages, nothing forged in between',
      );
      await waitFor(
        'every forged frame counted',
        () => r.sim.stats().framesRejected >= 20 * bad.length,
        10_000,
      );
      assert.equal(r.sim.stats().framesRejected, 20 * bad.length);
      assert.ok(r.log.some((line) => /link: rejected \d+ frame/.test(line)));
      assert.deepEqual(r.losses, [], 'no genuine transfer was lost');
    } finally {
      udp.close();
      await r.stop();
    }
  });

  it('cannot carry a bad channel or a path as a transfer id, even with the key', () => {
    const parse = (params: Record<string, string>) => () =>
      parseMsgHeader(new Telegram('Msg', { Cmd: 0, MetaLen: 0, Len: 0, ...params }));
    const id = '0d9a61b8-6a59-4d1e-9d3a-9a4a2e36a0c4';
    assert.equal(parse({ _Ch: '42', XferId: id })().ch, '42');
    assert.throws(parse({ _Ch: '042', XferId: id }), /canonical/);
    assert.throws(parse({ _Ch: '', XferId: id }));
    assert.throws(parse({ _Ch: 'x'.repeat(256), XferId: id }));
    assert.throws(parse({ _Ch: '42', XferId: '../../pwned' }), /UUID/);
    assert.ok(MAX_HEADER_SIZE < 1024, 'a transfer header is small');
  });
});

describe('cut-through', () => {
  for (const transport of ['stream', 'udp'] as const) {
    it(`a stalled upload does not hold back the others, and keeps its place (${transport})`, async () => {
      const r = await rig(transport);
      try {
        const slow = await r.clients.open(r.sim.sender.msgif, ALL);
        const fast = await r.clients.open(r.sim.sender.msgif, ALL);
        const big = randomBytes(1024 * 1024);
        const reply = await slow.request('Msg', { _Ch: '42', Len: big.length });
        assert.equal(reply.topic, 'Ok');
        slow.socket.write(big.subarray(0, 300_000)); // then nothing for a while
        const small = randomBytes(5000);
        const smallId = await sendMsg(fast, { ch: 42, payload: small });
        const got = await within(readMsg(r.sub), 10_000, 'the small message past the stalled one');
        assert.equal(got?.params.XferId, smallId);
        assert.equal(got?.payloadSha, sha(small));
        slow.socket.write(big.subarray(300_000));
        assert.equal((await within(slow.next(), 10_000, 'the final Ok'))?.topic, 'Ok');
        const late = await within(readMsg(r.sub), 10_000, 'the stalled message, completed');
        assert.equal(late?.params.XferId, reply.params.get('XferId'));
        assert.equal(late?.payloadSha, sha(big));
      } finally {
        await r.stop();
      }
    });
  }

  it('a stalled upload does not hold back the loss report of a later transfer', async () => {
    const sim = await startSimulator({
      accounts: [{ ...ALL, perms: ['*'] }],
      link: { heartbeatMs: 50, fault: ({ transfer }) => (transfer === 2 ? 'drop' : undefined) },
    });
    const losses: LossEvent[] = [];
    sim.on('loss', (e) => losses.push(e));
    const clients = new WireClients();
    try {
      await clients.subscriber(sim.receiver.subif, 42, ALL);
      const slow = await clients.open(sim.sender.msgif, ALL);
      const fast = await clients.open(sim.sender.msgif, ALL);
      const stalled = await slow.request('Msg', { _Ch: '42', Len: 1024 * 1024 });
      slow.socket.write(randomBytes(100_000)); // transfer 1 stalls here
      const lostId = await sendMsg(fast, { ch: 42, payload: randomBytes(5000) }); // transfer 2
      await waitFor(
        'the loss of transfer 2, with transfer 1 still open',
        () => losses.length > 0,
        10_000,
      );
      assert.deepEqual(
        losses.map((e) => [e.transfer, e.kind, e.xferId]),
        [[2, 'lost', lostId]],
      );
      assert.notEqual(stalled.params.get('XferId'), lostId);
    } finally {
      clients.destroyAll();
      await sim.close();
    }
  });

  it('an upload that fails midway is never delivered, and is reported as aborted', async () => {
    const r = await rig('stream');
    try {
      const quitter = await r.clients.open(r.sim.sender.msgif, ALL);
      const reply = await quitter.request('Msg', { _Ch: '42', Len: 4 * 1024 * 1024 });
      quitter.socket.end(randomBytes(1024 * 1024)); // a quarter, then the connection ends
      await waitFor('the aborted transfer', () => r.losses.length === 1, 10_000);
      assert.deepEqual(
        [r.losses[0]?.kind, r.losses[0]?.xferId, r.losses[0]?.ch, r.losses[0]?.size],
        ['aborted', reply.params.get('XferId'), '42', 4 * 1024 * 1024],
      );
      const snd = await r.clients.open(r.sim.sender.msgif, ALL);
      const id = await sendMsg(snd, { ch: 42, payload: Buffer.from('next') });
      const got = await within(readMsg(r.sub), 10_000, 'the next message');
      assert.equal(got?.params.XferId, id, 'the first message the subscriber sees is the next one');
      assert.equal(r.sim.stats().transfersAborted, 1);
    } finally {
      await r.stop();
    }
  });
});
