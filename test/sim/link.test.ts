/** The one-way link on a running simulator: pacing, options, clean shutdown. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type SimulatorOptions, startSimulator } from '../../src/sim/index.ts';
import { TestChild } from '../helpers/child.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { sha } from '../helpers/sha.ts';
import { connectTo, expectOk, readMsg, sendMsg } from './wire-client.ts';

describe('pacing', () => {
  for (const transport of ['stream', 'udp'] as const) {
    it(`sends no faster than the configured rate (${transport})`, async () => {
      const rate = 32 * 1024 * 1024;
      const sim = await startSimulator({
        accounts: [{ name: 'all', pass: 'pw', perms: ['*'] }],
        link: { rateBytesPerSec: rate, transport },
      });
      const sub = await connectTo(sim.receiver.subif);
      const snd = await connectTo(sim.sender.msgif);
      try {
        for (const c of [sub, snd]) await expectOk(c, 'Auth', { AccName: 'all', Pass: 'pw' });
        await expectOk(sub, 'Sub', { Ch: '1' });
        const payload = randomBytes(8 * 1024 * 1024);
        const received = readMsg(sub);
        // Cut-through: the link carries the message while it is uploaded.
        const start = performance.now();
        await sendMsg(snd, { ch: 1, payload });
        const got = await within(received, 60_000, 'the paced message');
        assert.equal(got?.payloadSha, sha(payload));
        const ms = performance.now() - start;
        assert.ok(ms >= 0.95 * ((payload.length / rate) * 1000), `took ${ms.toFixed(0)} ms`);
        assert.equal(sim.stats().transfersLost, 0);
      } finally {
        sub.socket.destroy();
        snd.socket.destroy();
        await sim.close();
      }
    });
  }
});

describe('pacing after the link was idle', () => {
  it('makes up for no idle time: a message after a pause is paced from its start', async () => {
    const rate = 1024 * 1024;
    const sim = await startSimulator({
      accounts: [{ name: 'all', pass: 'pw', perms: ['*'] }],
      link: { rateBytesPerSec: rate, heartbeatMs: 60_000 },
    });
    const sub = await connectTo(sim.receiver.subif);
    const snd = await connectTo(sim.sender.msgif);
    try {
      for (const c of [sub, snd]) await expectOk(c, 'Auth', { AccName: 'all', Pass: 'pw' });
      await expectOk(sub, 'Sub', { Ch: '1' });
      // Idle time is what is tested here, not something waited for.
      await sleep(300);
      const payload = randomBytes(512 * 1024);
      const received = readMsg(sub);
      const start = performance.now();
      await sendMsg(snd, { ch: 1, payload });
      const got = await within(received, 30_000, 'the paced message');
      assert.equal(got?.payloadSha, sha(payload));
      const ms = performance.now() - start;
      // 500 ms at the pace, less at most the 10 ms a busy process may make up for.
      assert.ok(ms >= 480, `took ${ms.toFixed(0)} ms`);
    } finally {
      sub.socket.destroy();
      snd.socket.destroy();
      await sim.close();
    }
  });
});

describe('options', () => {
  const invalid: [string, SimulatorOptions][] = [
    ['a datagram size below 1024', { link: { datagramSize: 1000 } }],
    ['a datagram size over 65507', { link: { datagramSize: 65508 } }],
    ['a fractional datagram size', { link: { datagramSize: 2000.5 } }],
    ['a zero rate', { link: { rateBytesPerSec: 0 } }],
    ['an unknown transport', { link: { transport: 'tcp' as 'udp' } }],
    ['a redundancy of 9', { link: { redundancy: 9 } }],
    ['a loss rate over 1', { link: { faults: { loss: 1.5 } } }],
    ['a down window without its start', { link: { faults: { down: [{ forMs: 10 } as never] } } }],
    ['a negative down window', { link: { faults: { down: [{ atMs: 0, forMs: -1 }] } } }],
    ['a zero heartbeat period', { link: { heartbeatMs: 0 } }],
    ['a fractional seed', { link: { faults: { seed: 1.5 } } }],
    ['a zero queue limit', { queueLimit: 0 }],
    ['a push channel over 255', { push: [{ ch: 256, addr: '127.0.0.1:1' }] }],
    ['an empty push channel', { push: [{ ch: '', addr: '127.0.0.1:1' }] }],
    ['a push address without a port', { push: [{ ch: 1, addr: 'localhost' }] }],
  ];
  for (const [what, options] of invalid) {
    it(`rejects ${what}`, async () => {
      await rejectsCode(startSimulator(options), 'BAD_INPUT');
    });
  }

  it('rejects a negative restart delay', async () => {
    const sim = await startSimulator();
    try {
      await assert.rejects(sim.restartReceiver(-1), { code: 'BAD_INPUT' });
    } finally {
      await sim.close();
    }
  });
});

describe('close()', () => {
  it('removes the spool folder', async () => {
    const log: string[] = [];
    const sim = await startSimulator({ log: (line) => log.push(line) });
    const dir = log.find((line) => line.startsWith('spool folder '))?.slice(13) ?? '';
    assert.ok((await stat(dir)).isDirectory());
    await sim.close();
    await assert.rejects(stat(dir), { code: 'ENOENT' });
  });

  it('leaves nothing that keeps the process alive', async () => {
    const script = `
      import { startSimulator } from ${JSON.stringify(new URL('../../src/sim/index.ts', import.meta.url).href)};
      import { connectTo, expectOk, readMsg, sendMsg } from ${JSON.stringify(new URL('./wire-client.ts', import.meta.url).href)};
      const sim = await startSimulator({ accounts: [{ name: 'a', pass: 'p', perms: ['*'] }], push: [{ ch: 1, addr: '127.0.0.1:9' }] });
      const sub = await connectTo(sim.receiver.subif);
      const snd = await connectTo(sim.sender.msgif);
      for (const c of [sub, snd]) await expectOk(c, 'Auth', { AccName: 'a', Pass: 'p' });
      await expectOk(sub, 'Sub', { Ch: '1' });
      await sendMsg(snd, { ch: 1, payload: Buffer.alloc(300000) });
      await readMsg(sub);
      await sim.close();
      console.log('closed');
    `;
    const child = new TestChild(
      'a script that closes its simulator',
      process.execPath,
      [...process.execArgv, '--input-type=module', '--eval', script],
      process.env,
    );
    // Anything close() left open keeps the process alive past the deadline: a failure.
    const exit = await child.exited(15_000);
    assert.equal(child.stdout.trim(), 'closed', child.stderr);
    assert.deepEqual(exit, { code: 0, signal: null }, 'the process ends by itself after close()');
  });
});
