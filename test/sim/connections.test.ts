/** Connection handling of the simulator: pipelining, bad input, disconnects, Unix sockets, close(). */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { TestChild } from '../helpers/child.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { freePort } from '../helpers/free-port.ts';
import { connectTo, expectOk, failOnUnhandledRejections, WireClients } from './wire-client.ts';

const ACCOUNTS = [{ name: 'frank', pass: 'frank-secret' }];

failOnUnhandledRejections();

function tg(topic: string, params?: Record<string, string>): Buffer {
  return encodeTelegram(new Telegram(topic, params));
}

describe('one simulator', () => {
  let sim: Simulator;
  const clients = new WireClients();
  const open = (address: string) => clients.open(address);

  before(async () => {
    sim = await startSimulator({ accounts: ACCOUNTS });
  });
  after(async () => {
    clients.destroyAll();
    await sim.close();
  });

  it('answers pipelined requests in order', async () => {
    const c = await open(sim.sender.msgif);
    c.socket.write(
      Buffer.concat([
        tg('WhoAmI'),
        tg('Auth', { AccName: 'frank', Pass: 'frank-secret' }),
        tg('WhoAmI'),
        tg('Nope'),
        tg('GetNodeInfo'),
        tg('Unauth'),
        tg('WhoAmI'),
      ]),
    );
    const replies: string[] = [];
    for (let i = 0; i < 7; i++) {
      const reply = await c.reader.readTelegram();
      replies.push(
        `${reply.topic} ${reply.params.get('Name') ?? reply.params.get('ddmw.node') ?? ''}`,
      );
    }
    assert.deepEqual(replies, [
      'Ok unauthenticated',
      'Ok ',
      'Ok frank',
      'Fail ',
      'Ok sender',
      'Ok ',
      'Ok unauthenticated',
    ]);
  });

  it('answers every request of a client that shuts down its side before reading', async () => {
    const c = await open(sim.receiver.subif);
    c.socket.end(
      Buffer.concat([tg('Auth', { AccName: 'frank', Pass: 'frank-secret' }), tg('WhoAmI')]),
    );
    assert.equal((await c.next())?.topic, 'Ok');
    assert.equal((await c.next())?.params.get('Name'), 'frank');
    assert.equal(await c.next(), undefined, 'then the server ends the connection');
  });

  it('accepts CRLF line ends and a request split into single bytes', async () => {
    const c = await open(sim.sender.mgmtif);
    for (const byte of Buffer.from('WhoAmI\r\n\r\n')) c.socket.write(Buffer.from([byte]));
    assert.equal((await c.next())?.params.get('Id'), '0');
  });

  for (const [what, bytes] of [
    ['invalid UTF-8', Buffer.from([0x57, 0xff, 0xfe, 0x0a, 0x0a])],
    ['a bad topic', Buffer.from('Who Am I\n\n')],
    ['an empty line instead of a topic', Buffer.from('\n')],
    ['a bad key', Buffer.from('WhoAmI\n\tkey v\n\n')],
    ['a line over 64 KiB', Buffer.alloc(64 * 1024 + 1, 0x41)],
  ] as const) {
    it(`closes only the connection that sends ${what}`, async () => {
      const bystander = await open(sim.sender.msgif);
      await expectOk(bystander, 'WhoAmI');
      const c = await open(sim.sender.msgif);
      await expectOk(c, 'WhoAmI');
      c.socket.write(bytes);
      await within(c.closed, 10_000, `the simulator closing the connection that sent ${what}`);
      await expectOk(bystander, 'WhoAmI');
    });
  }

  it('accepts a line of exactly 64 KiB', async () => {
    const c = await open(sim.sender.msgif);
    const reply = await c.request('WhoAmI', { Pad: 'x'.repeat(64 * 1024 - 4) });
    assert.equal(reply.topic, 'Ok');
  });

  it('survives clients that disconnect in the middle of a request or before its reply', async () => {
    const partial = await open(sim.sender.msgif);
    partial.socket.end('Auth\nAccName fra');
    await within(partial.closed, 10_000, 'the end of the half-sent request');
    const reset = await open(sim.receiver.mgmtif);
    reset.socket.write('Auth\nAccName frank\nPass frank-secret\n\nWhoAmI\n\n');
    reset.socket.resetAndDestroy();
    const gone = await open(sim.sender.mgmtif);
    gone.socket.write(tg('Auth', { AccName: 'frank', Pass: 'frank-secret', ReqTkn: 'True' }));
    gone.socket.destroy();
    await within(Promise.all([reset.closed, gone.closed]), 10_000, 'the two aborted logins');
    // The password checks the simulator had started finish in their own time: a new login works meanwhile.
    const c = await open(sim.receiver.mgmtif);
    assert.deepEqual(await expectOk(c, 'Auth', { AccName: 'frank', Pass: 'frank-secret' }), {});
  });
});

describe('close()', () => {
  it('closes open connections (clients see the end) and is idempotent', async () => {
    const sim = await startSimulator({ accounts: ACCOUNTS });
    const idle = await connectTo(sim.sender.msgif);
    const busy = await connectTo(sim.receiver.subif);
    await expectOk(idle, 'WhoAmI');
    busy.send('Auth', { AccName: 'frank', Pass: 'frank-secret' });
    const first = sim.close();
    const second = sim.close();
    await Promise.all([first, second]);
    assert.equal(await idle.next(), undefined);
    await Promise.all([idle.closed, busy.closed]);
    await sim.close();
    await assert.rejects(connectTo(sim.sender.msgif), { code: 'ECONNREFUSED' });
  });
});

describe('Unix socket mode', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ddmw-sim-'));
  });
  afterEach(async () => {
    for (const name of await readdir(dir)) await rm(join(dir, name), { force: true });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('listens on one socket per interface in the folder', async () => {
    const sim = await startSimulator({ unixSocketDir: dir, accounts: ACCOUNTS });
    try {
      assert.deepEqual(
        [sim.sender.msgif, sim.sender.mgmtif, sim.receiver.subif, sim.receiver.mgmtif],
        ['sender-msgif', 'sender-mgmtif', 'receiver-subif', 'receiver-mgmtif'].map((n) =>
          join(dir, `${n}.sock`),
        ),
      );
      for (const address of [sim.sender.msgif, sim.receiver.subif]) {
        const c = await connectTo(address);
        await expectOk(c, 'Auth', { AccName: 'frank', Pass: 'frank-secret' });
        assert.equal((await expectOk(c, 'WhoAmI')).Name, 'frank');
        c.socket.destroy();
      }
    } finally {
      await sim.close();
    }
    assert.deepEqual(await readdir(dir), [], 'the socket files are removed');
  });

  it('replaces a stale socket file but not a live socket', async () => {
    const stale = join(dir, 'sender-msgif.sock');
    // A process that exits without closing its server leaves the socket file behind.
    const script = `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.exit(0))`;
    const child = new TestChild(
      'a server left behind',
      process.execPath,
      ['-e', script],
      process.env,
    );
    assert.deepEqual(await child.exited(), { code: 0, signal: null }, child.stderr);
    assert.ok((await stat(stale)).isSocket());
    const sim = await startSimulator({ unixSocketDir: dir });
    await expectOk(await connectTo(sim.sender.msgif), 'WhoAmI');
    await rejectsCode(startSimulator({ unixSocketDir: dir }), 'IO');
    await sim.close();
  });
});

describe('options', () => {
  it('rejects duplicate account names', async () => {
    await rejectsCode(
      startSimulator({
        accounts: [
          { name: 'a', pass: '1' },
          { name: 'a', pass: '2' },
        ],
      }),
      'BAD_INPUT',
    );
  });

  it('rejects malformed accounts', async () => {
    for (const account of [
      { name: '', pass: 'x' },
      { name: 'unauthenticated', pass: 'x' },
      { name: 'a\nb', pass: 'x' },
      { name: 'a', pass: 'x\n' },
      { name: 'a', pass: 'x', perms: ['a,b'] },
    ]) {
      await rejectsCode(startSimulator({ accounts: [account] }), 'BAD_INPUT');
    }
  });

  it('rejects bad ports, and ports together with unixSocketDir', async () => {
    await rejectsCode(startSimulator({ ports: { senderMsgif: 70000 } }), 'BAD_INPUT');
    await rejectsCode(startSimulator({ ports: { receiverSubif: 1.5 } }), 'BAD_INPUT');
    await rejectsCode(startSimulator({ ports: {}, unixSocketDir: tmpdir() }), 'BAD_PARAMS');
  });

  it('listens on the given port and reports the given version', async () => {
    const port = await freePort();
    const sim = await startSimulator({ ports: { receiverMgmtif: port }, version: '9.9.9-test' });
    try {
      assert.equal(sim.receiver.mgmtif, `127.0.0.1:${port}`);
      const c = await connectTo(sim.receiver.mgmtif);
      assert.equal((await expectOk(c, 'GetNodeInfo'))['ddmw.version'], '9.9.9-test');
      // A port in use makes startup fail, and nothing is left listening.
      await rejectsCode(startSimulator({ ports: { receiverMgmtif: port } }), 'IO');
    } finally {
      await sim.close();
    }
  });
});
