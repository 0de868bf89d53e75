/**
 * `Sub` on the receiver node's subscription interface: the channel in its
 * canonical form, the subscribe permission checked against it, the reason
 * of a refusal, and the log line of a subscription.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { expectFail, expectOk, WireClients } from './wire-client.ts';

const READER = { name: 'reader', pass: 'reader-pass' };
const ANY = { name: 'any', pass: 'any-pass' };

let sim: Simulator;
const log: string[] = [];
const clients = new WireClients();

before(async () => {
  sim = await startSimulator({
    accounts: [
      { ...READER, perms: ['subscribe:7', 'send:8'] },
      { ...ANY, perms: ['subscribe'] },
    ],
    log: (line) => log.push(line),
  });
});
after(async () => {
  clients.destroyAll();
  await sim.close();
});

describe('Sub', () => {
  it('subscribes to the channel in its canonical form, and logs it so', async () => {
    const c = await clients.open(sim.receiver.subif, READER);
    assert.deepEqual(await expectOk(c, 'Sub', { Ch: '007' }), {});
    assert.ok(
      log.some((line) => line.endsWith(' subscribed to channel 7')),
      `no subscription in the log:\n${log.join('\n')}`,
    );
  });

  it('is refused for a channel the account may not subscribe to, saying so', async () => {
    const c = await clients.open(sim.receiver.subif, READER);
    assert.equal(
      await expectFail(c, 'Sub', { Ch: '+8' }),
      'Permission denied: account "reader" may not subscribe to channel "8"',
    );
    assert.equal(await expectFail(c, 'Sub', { Ch: '' }), 'The channel is empty');
  });

  it('takes any channel with the plain subscribe permission', async () => {
    const c = await clients.open(sim.receiver.subif, ANY);
    assert.deepEqual(await expectOk(c, 'Sub', { Ch: 'telemetry' }), {});
    assert.deepEqual(await expectOk(c, 'Sub', { Ch: '255' }), {});
  });
});
