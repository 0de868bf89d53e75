/** Messages through the simulator: Msg on the sender, the link, Sub on the receiver; permissions. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { encodeTelegram } from '../../src/blather/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { dataRoom } from '../../src/sim/link/format.ts';
import { DEFAULT_FRAME_SIZE as DEFAULT_DATAGRAM_SIZE } from '../../src/sim/link/settings.ts';
import { msgTelegram } from '../../src/sim/node/message.ts';
import { waitFor, within } from '../helpers/deadline.ts';
import { sha } from '../helpers/sha.ts';
import { expectFail, expectOk, readMsg, sendMsg, WireClients } from './wire-client.ts';

const ACCOUNTS = [
  { name: 'all', pass: 'pw', perms: ['*'] },
  { name: 'sender', pass: 'pw', perms: ['send'] },
  { name: 'reader', pass: 'pw', perms: ['subscribe'] },
  { name: 'ch42', pass: 'pw', perms: ['send:42', 'subscribe:42'] },
  { name: 'named', pass: 'pw', perms: ['send:telemetry', 'subscribe:telemetry'] },
  { name: 'nobody', pass: 'pw' },
];

let sim: Simulator;
const clients = new WireClients();
const login = (address: string, name?: string) =>
  clients.open(address, name ? { name, pass: 'pw' } : undefined);
const subscriber = (ch: string | number, name = 'all') =>
  clients.subscriber(sim.receiver.subif, ch, { name, pass: 'pw' });

before(async () => {
  // No heartbeat while the tests count frames.
  sim = await startSimulator({ accounts: ACCOUNTS, link: { heartbeatMs: 600_000 } });
});

after(async () => {
  clients.destroyAll();
  await sim.close();
});

/** Data bytes that fit in a single datagram with the header of a message with command 77 on channel `ch`. */
function oneDatagram(ch: string): number {
  const header = (len: number) =>
    encodeTelegram(
      msgTelegram({
        ch,
        xferId: randomBytes(18).toString('hex').slice(0, 36),
        cmd: 77,
        metaLen: 0,
        len,
      }),
    ).length;
  const guess = dataRoom(0, header(60000), DEFAULT_DATAGRAM_SIZE);
  assert.equal(dataRoom(0, header(guess), DEFAULT_DATAGRAM_SIZE), guess);
  return guess;
}

describe('send and subscribe', () => {
  const single = oneDatagram('1');
  const cases: [string, number, number, number][] = [
    // name, metadata bytes, payload bytes, datagrams on the link
    ['an empty message', 0, 0, 1],
    ['a 1-byte payload', 0, 1, 1],
    ['1 byte of metadata', 1, 0, 1],
    ['metadata and payload', 100, 1000, 1],
    ['a payload of exactly one datagram', 0, single, 1],
    ['a payload one byte over one datagram', 0, single + 1, 2],
    ['a payload of several datagrams', 0, 200 * 1024 + 7, 4],
    ['100 KiB of metadata only', 100 * 1024, 0, 2],
    ['20 MiB of payload with metadata', 3000, 20 * 1024 * 1024, 329],
  ];
  for (const [name, metaLen, len, datagrams] of cases) {
    it(`delivers ${name} intact`, async () => {
      const sub = await subscriber(1);
      const snd = await login(sim.sender.msgif, 'all');
      const meta = randomBytes(metaLen);
      const payload = randomBytes(len);
      const before = sim.stats().framesSent;
      const received = readMsg(sub);
      const xferId = await sendMsg(snd, { ch: 1, cmd: 77, meta, payload });
      assert.deepEqual(await within(received, 60_000, `the message (${name})`), {
        params: { _Ch: '1', XferId: xferId, Cmd: '77', MetaLen: String(metaLen), Len: String(len) },
        metaSha: sha(meta),
        payloadSha: sha(payload),
      });
      assert.equal(sim.stats().framesSent - before, datagrams);
      sub.socket.destroy();
    });
  }

  it('sends the XferId with the first Ok and nothing else with the later ones', async () => {
    const snd = await login(sim.sender.msgif, 'all');
    const first = await expectOk(snd, 'Msg', { _Ch: '9', MetaLen: 2, Len: 3 });
    assert.match(first.XferId ?? '', /^[0-9a-f-]{36}$/);
    snd.socket.write('mm');
    assert.deepEqual((await snd.next())?.params.toObject(), {});
    snd.socket.write('ppp');
    assert.deepEqual((await snd.next())?.params.toObject(), {});
    const empty = await expectOk(snd, 'Msg', { _Ch: '9' });
    assert.notEqual(empty.XferId, first.XferId);
  });

  it('gives every subscriber of a channel the message, in order, and others nothing', async () => {
    const subs = [await subscriber(5), await subscriber(5), await subscriber('005')];
    const other = await subscriber(6);
    const both = await subscriber(5);
    await expectOk(both, 'Sub', { Ch: '6' });
    const snd = await login(sim.sender.msgif, 'all');
    const ids = [];
    for (const [ch, text] of [
      [5, 'a'],
      [5, 'b'],
      [6, 'c'],
    ] as const) {
      ids.push(await sendMsg(snd, { ch, payload: Buffer.from(text) }));
    }
    for (const sub of subs) {
      for (const id of ids.slice(0, 2)) assert.equal((await readMsg(sub))?.params.XferId, id);
    }
    assert.equal(
      (await readMsg(other))?.params.XferId,
      ids[2],
      'channel 6 gets only its own message',
    );
    for (const id of ids) assert.equal((await readMsg(both))?.params.XferId, id);
  });

  it('treats channel names and numbers as in Rust (042 is 42, 256 is a name)', async () => {
    const byNumber = await subscriber(42);
    const byName = await subscriber('256');
    const snd = await login(sim.sender.msgif, 'all');
    await sendMsg(snd, { ch: '+042' });
    await sendMsg(snd, { ch: '256' });
    assert.equal((await readMsg(byNumber))?.params._Ch, '42');
    assert.equal((await readMsg(byName))?.params._Ch, '256');
  });

  it('drops a message nobody subscribed to, and counts it', async () => {
    const before = sim.stats().droppedNoSubscriber;
    const snd = await login(sim.sender.msgif, 'all');
    await sendMsg(snd, { ch: 'nobody-listens', payload: Buffer.from('x') });
    await waitFor('the drop', () => sim.stats().droppedNoSubscriber === before + 1);
  });
});

describe('permissions', () => {
  it('refuses Msg without a send permission for the channel; the client then sends no bytes', async () => {
    const cases: [string | undefined, string][] = [
      [undefined, '1'],
      ['nobody', '1'],
      ['reader', '1'],
      ['ch42', '43'],
      ['named', 'other'],
    ];
    for (const [name, ch] of cases) {
      const snd = await login(sim.sender.msgif, name);
      const reason = await expectFail(snd, 'Msg', { _Ch: ch, Len: 5 });
      assert.match(reason, /Permission denied/);
      // No payload follows a Fail: the next request is read as a request.
      assert.equal((await expectOk(snd, 'WhoAmI')).Name, name ?? 'unauthenticated');
    }
  });

  it('allows send, send:<ch> and *', async () => {
    const sub = await subscriber('telemetry', 'named');
    const sub42 = await subscriber(42, 'ch42');
    for (const [name, ch] of [
      ['all', 'telemetry'],
      ['sender', 'telemetry'],
      ['named', 'telemetry'],
      ['ch42', '042'],
    ]) {
      const snd = await login(sim.sender.msgif, name);
      await sendMsg(snd, { ch: ch as string, payload: Buffer.from(name as string) });
    }
    for (let i = 0; i < 3; i++) assert.equal((await readMsg(sub))?.params._Ch, 'telemetry');
    assert.equal((await readMsg(sub42))?.params._Ch, '42');
  });

  it('refuses Sub without a subscribe permission for the channel', async () => {
    for (const [name, ch] of [
      [undefined, '1'],
      ['nobody', '1'],
      ['sender', '1'],
      ['ch42', '7'],
      ['named', 'x'],
    ]) {
      const c = await login(sim.receiver.subif, name);
      assert.match(await expectFail(c, 'Sub', { Ch: ch as string }), /Permission denied/);
    }
    for (const [name, ch] of [
      ['reader', '1'],
      ['ch42', '42'],
      ['named', 'telemetry'],
      ['all', 'x'],
    ]) {
      const c = await login(sim.receiver.subif, name);
      await expectOk(c, 'Sub', { Ch: ch as string });
    }
  });

  it('answers Fail for missing or bad Msg and Sub parameters and keeps the connection', async () => {
    const snd = await login(sim.sender.msgif, 'all');
    const bad: Record<string, string>[] = [
      { Len: '5' },
      { _Ch: '' },
      { _Ch: 'x'.repeat(256) },
      { _Ch: '1', Cmd: '-1' },
      { _Ch: '1', Cmd: '4294967296' },
      { _Ch: '1', MetaLen: 'ten' },
      { _Ch: '1', Len: '18446744073709551616' },
      { _Ch: '1', Len: '9007199254740992' },
    ];
    for (const params of bad) await expectFail(snd, 'Msg', params);
    await expectOk(snd, 'WhoAmI');
    const sub = await login(sim.receiver.subif, 'all');
    await expectFail(sub, 'Sub', {});
    await expectFail(sub, 'Sub', { Ch: '' });
    await expectOk(sub, 'WhoAmI');
  });
});
