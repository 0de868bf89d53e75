/**
 * UDP pass-through (apps/udp) through simulators: order and counts at
 * 10,000 datagrams a second, a batch lost on the link counted (and the
 * rest in order), hostile batches refused, and a node that stops taking
 * batches: bounded queue, drops counted, a clear error.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { udp } from '../../src/apps/index.ts';
import { blather, type Connection, connect, msg } from '../../src/index.ts';
import type { SimulatorOptions } from '../../src/sim/index.ts';
import { startAppSim } from '../helpers/app-sim.ts';
import { waitFor, within } from '../helpers/deadline.ts';
import { hang, startFakeServer } from '../helpers/fake-server.ts';

const CH = 'udp';
const cleanups: (() => Promise<unknown> | unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A datagram numbered `i` (4 bytes), padded to `size`. */
function datagram(i: number, size = 100): Buffer {
  const d = Buffer.alloc(size, i & 0xff);
  d.writeUInt32BE(i, 0);
  return d;
}

/** A UDP socket collecting the numbers of the datagrams it gets. */
async function sink(): Promise<{ port: number; got: number[]; socket: Socket }> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
  const got: number[] = [];
  socket.on('message', (d: Buffer) => got.push(d.readUInt32BE(0)));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => socket.close());
  return { port: socket.address().port, got, socket };
}

/** A simulator, a sending and a subscribed receiving connection, and a receiver emitting to a sink. */
async function pipeThrough(
  simOptions: Omit<SimulatorOptions, 'accounts'>,
  send: Omit<udp.UdpSendOptions, 'ch' | 'listen'>,
) {
  const apps = await startAppSim(simOptions);
  cleanups.push(() => apps.close());
  const { sim, sender: out } = apps;
  const sub = await apps.subscriber(CH);
  const target = await sink();
  const ac = new AbortController();
  const events: udp.UdpReceiveEvent[] = [];
  const receiving = udp.receive(sub, {
    to: `127.0.0.1:${target.port}`,
    signal: ac.signal,
    onEvent: (e) => events.push(e),
  });
  const fwd = await udp.send(out, { ...send, ch: CH, listen: '127.0.0.1:0' });
  const producer = createSocket('udp4');
  cleanups.push(() => producer.close());
  const produce = (d: Buffer) =>
    new Promise<void>((resolve, reject) =>
      producer.send(d, fwd.address.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
  /** Stops the forwarder (it sends what it gathered), waits for `last` at the sink, stops the receiver. */
  const stop = async (last: number) => {
    const sent = await within(close(), 10_000, 'the forwarder to send what it gathered');
    await waitFor(
      `datagram ${last} at the sink`,
      () => target.got.includes(last),
      10_000,
      () =>
        `${target.got.length} there; forwarder ${JSON.stringify(sent)}; ${JSON.stringify(sim.stats())}`,
    );
    ac.abort();
    const received = await within(receiving, 10_000, 'the receiver to stop');
    return { sent, received };
  };
  const close = () => fwd.close();
  return { fwd, target, events, produce, stop, out };
}

describe('UDP pass-through', () => {
  it('carries 10,000 datagrams at 10,000 a second, all of them, in order', async () => {
    const p = await pipeThrough({}, {});
    const total = 10_000;
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      await p.produce(datagram(i));
      // 100 datagrams every 10 ms: 10,000 a second.
      if (i % 100 === 99) await sleep(Math.max(0, start + (i + 1) / 10 - performance.now()));
    }
    // Closing drops what the forwarder has not read yet: wait until it has taken every datagram.
    const taken = () => p.fwd.counters.received === total;
    await waitFor(
      `${total} datagrams at the forwarder`,
      taken,
      20_000,
      () => `${p.fwd.counters.received}`,
    );
    const { sent, received } = await p.stop(total - 1);
    assert.deepEqual(
      p.target.got,
      Array.from({ length: total }, (_, i) => i),
    );
    assert.deepEqual([sent.received, sent.sent, sent.dropped], [total, total, 0]);
    assert.ok(sent.batches > 1 && sent.batches < total, `${sent.batches} batches`);
    assert.deepEqual([received.datagrams, received.lostDatagrams, received.refused], [total, 0, 0]);
  });

  it('counts a batch lost on the link, and sends the others on in order', async () => {
    // The link loses every frame of its third transfer: the third batch.
    const link = {
      fault: (d: { transfer: number }) => (d.transfer === 3 ? ('drop' as const) : undefined),
    };
    const p = await pipeThrough({ link }, { batchBytes: 4 * 102, batchMs: 60_000 });
    for (let i = 0; i < 40; i++) await p.produce(datagram(i));
    await waitFor('40 datagrams at the forwarder', () => p.fwd.counters.received === 40, 10_000);
    const { sent, received } = await p.stop(39);
    await waitFor(
      'the datagrams at the sink',
      () => p.target.got.length === received.datagrams,
      5000,
    );
    assert.equal(sent.sent, 40, JSON.stringify({ sent, received, got: p.target.got }));
    assert.equal(received.lostBatches, 1);
    assert.equal(received.datagrams + received.lostDatagrams, 40);
    assert.ok(received.lostDatagrams > 0);
    const gaps = p.target.got.flatMap((v, i) =>
      i > 0 && v !== (p.target.got[i - 1] as number) + 1 ? [v] : [],
    );
    assert.equal(gaps.length, 1, `one gap in ${p.target.got.join(',')}`);
    assert.deepEqual(
      p.events.filter((e) => e.type === 'lost'),
      [{ type: 'lost', batches: 1, datagrams: received.lostDatagrams }],
    );
  });

  it('refuses hostile batches, sends nothing of them, and goes on', async () => {
    const p = await pipeThrough({}, {});
    const meta = (fields: Record<string, string | number>) =>
      new blather.Params({
        Format: udp.UDP_FORMAT,
        Session: 'ab'.repeat(8),
        Seq: 0,
        First: 0,
        Count: 1,
        ...fields,
      });
    const framed = udp.encodeDatagrams([datagram(999)]);
    const crafted = async (m: blather.Params, payload: Buffer) =>
      msg.send(p.out, { ch: CH, meta: m, payload });
    await crafted(meta({ Count: 2 }), framed); // fewer datagrams than it says
    await crafted(meta({}), Buffer.from([0xff, 0xff, 1, 2, 3])); // a length past the end
    await crafted(meta({ Session: '../x' }), framed);
    await crafted(meta({ Format: 'other' }), framed);
    const huge = Buffer.alloc(2 + 65_535);
    huge.writeUInt16BE(65_535, 0);
    await crafted(meta({}), huge); // a datagram no UDP socket can send on
    await crafted(meta({ Count: 10_000_000 }), Buffer.alloc(2 * 100_000)); // empty frames by the million
    await crafted(meta({ Count: 65_536 }), Buffer.alloc(2 * 1_000_000)); // more frames than it says
    await crafted(meta({ Seq: -1 }), framed);
    await crafted(meta({ Seq: 0 }), framed); // a valid first batch of this session
    await crafted(meta({ Seq: 1, First: 0 }), framed); // the next batch, yet numbered back
    await msg.send(p.out, { ch: CH, payload: 'not a batch' });
    await p.produce(datagram(1));
    await waitFor('the datagram at the forwarder', () => p.fwd.counters.received === 1, 10_000);
    const { received } = await p.stop(1);
    assert.equal(received.refused, 10, JSON.stringify(p.events));
    assert.deepEqual(p.target.got, [999, 1]);
  });

  it('a node that stops taking batches: the queue stays bounded, drops are counted, the error is TIMEOUT', async () => {
    const server = await startFakeServer(hang);
    cleanups.push(() => server.close());
    const conn: Connection = await connect(server.addr);
    cleanups.push(() => conn.close());
    const fwd = await udp.send(conn, {
      ch: CH,
      listen: '127.0.0.1:0',
      batchBytes: 1020,
      maxQueuedBytes: 4080,
      timeoutMs: 3000, // long enough for every datagram to arrive first, even on a busy machine
    });
    const producer = createSocket('udp4');
    cleanups.push(() => producer.close());
    for (let i = 0; i < 100; i++) {
      await new Promise<void>((resolve) =>
        producer.send(datagram(i), fwd.address.port, '127.0.0.1', () => resolve()),
      );
    }
    await waitFor('100 datagrams at the forwarder', () => fwd.counters.received === 100, 10_000);
    await assert.rejects(within(fwd.done, 10_000, 'the forwarder to fail'), { code: 'TIMEOUT' });
    assert.equal(fwd.counters.sent, 0);
    assert.equal(fwd.counters.dropped, 100); // every datagram taken is accounted for
  });
});
