/**
 * Channel permissions are per action: `subscribe:<ch>` lets an account
 * subscribe to that channel but not send on it, `send:<ch>` the reverse,
 * and neither reaches another channel. Through our client and the
 * simulator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { recv, send, subscribe } from '../../src/msg/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';

const READER = { name: 'reader7', pass: 'reader-pass' };
const WRITER = { name: 'writer7', pass: 'writer-pass' };

let sim: Simulator;
const files = closedAfterFile();

before(async () => {
  sim = await startSimulator({
    accounts: [
      { ...READER, perms: ['subscribe:7'] },
      { ...WRITER, perms: ['send:7'] },
    ],
  });
});
after(async () => {
  await sim.close();
});

const login = (addr: string, auth: { name: string; pass: string }) => files.open(addr, { auth });

describe('subscribe:<ch> without send:<ch>, and the reverse', () => {
  it('subscribe:7 subscribes to 7, but may not send on 7 nor subscribe to 8', async () => {
    await subscribe(await login(sim.receiver.subif, READER), 7);
    const refused = await rejectsCode(
      send(await login(sim.sender.msgif, READER), { ch: 7, payload: 'x' }),
      'SERVER_ERROR',
    );
    assert.match(refused.message, /Permission denied.*send/);
    await rejectsCode(subscribe(await login(sim.receiver.subif, READER), 8), 'SERVER_ERROR');
  });

  it('send:7 sends on 7, but may not subscribe to 7 nor send on 8', async () => {
    const sender = await login(sim.sender.msgif, WRITER);
    assert.ok(await send(sender, { ch: 7, payload: 'x' }));
    const refused = await rejectsCode(
      subscribe(await login(sim.receiver.subif, WRITER), 7),
      'SERVER_ERROR',
    );
    assert.match(refused.message, /Permission denied.*subscribe/);
    await rejectsCode(send(sender, { ch: 8, payload: 'x' }), 'SERVER_ERROR');
  });

  it('together they carry a message from the sender to the subscriber', async () => {
    const sub = await login(sim.receiver.subif, READER);
    await subscribe(sub, 7);
    const xferId = await send(await login(sim.sender.msgif, WRITER), {
      ch: 7,
      cmd: 3,
      payload: 'from writer7',
    });
    const m = await within(recv(sub), 5000, 'the message at reader7');
    assert.equal(m.xferId, xferId);
    assert.equal(m.cmd, 3);
    assert.equal(m.payload?.kind === 'bytes' && m.payload.bytes.toString(), 'from writer7');
  });
});
