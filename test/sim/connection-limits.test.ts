/**
 * The simulator's limits on connections, with small configured values:
 * the most connections an interface keeps open (sparing logins under way),
 * the time a connection has to log in, and the time a request may go
 * without a byte (a stalled upload is closed and its spool file removed).
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Params } from '../../src/blather/index.ts';
import type { LossEvent } from '../../src/sim/index.ts';
import { InterfaceListener } from '../../src/sim/node/listener.ts';
import type { CommandHandler } from '../../src/sim/node/session.ts';
import { waitFor, waitForAsync, within } from '../helpers/deadline.ts';
import { MiB, setup, until } from './limits-helpers.ts';
import { connectTo, expectOk, failOnUnhandledRejections, type WireClient } from './wire-client.ts';

failOnUnhandledRejections();

/** Waits until the simulator has closed `c`. */
function closedBySim(c: WireClient, what: string): Promise<void> {
  return within(c.closed, 10_000, `the simulator closing ${what}`);
}

describe('connection limits', () => {
  it('an interface at its maxConnections closes the oldest connection not logged in, or else the new one', async () => {
    const t = await setup({ limits: { maxConnections: 2 } });
    try {
      const member = await t.sender();
      const stranger = await t.open(t.sim.sender.msgif);
      await expectOk(stranger, 'WhoAmI');
      // Full: the stranger makes room for a newcomer.
      const newcomer = await t.open(t.sim.sender.msgif);
      await expectOk(newcomer, 'WhoAmI');
      await closedBySim(stranger, 'the connection not logged in');
      assert.ok(
        t.log.includes(
          'sender/msgif#2 closing: not logged in, and a new connection needs its place',
        ),
        'the eviction is logged',
      );
      // Full of logged-in connections: a new one is closed at once.
      await expectOk(newcomer, 'Auth', { AccName: 'all', Pass: 'pw' });
      const refused = await t.open(t.sim.sender.msgif);
      await closedBySim(refused, 'a connection over the limit');
      assert.ok(
        t.log.includes(
          'sender/msgif refusing connections: 2 connections open, logged in or checking a passphrase, the limit',
        ),
        'the refusal is logged',
      );
      const stats = t.sim.stats();
      assert.equal(stats.connectionsEvicted, 1);
      assert.equal(stats.connectionsRefused, 1);
      // The limit is per interface: the management interface still takes connections.
      await expectOk(await t.open(t.sim.sender.mgmtif), 'WhoAmI');

      member.socket.destroy();
      await until(t.sim, 'the session of the first connection ending', () =>
        t.log.includes('sender/msgif#1 closed'),
      );
      await expectOk(await t.sender(), 'WhoAmI');
      assert.ok(
        t.log.includes('sender/msgif accepting connections again (1 refused meanwhile)'),
        'the end of the refusals is logged',
      );
    } finally {
      await t.stop();
    }
  });

  it('a connection whose passphrase check is under way is not closed to make room', async () => {
    // `Check` stands for an Auth whose check takes until `release()`.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let checks = 0;
    const check: CommandHandler = async (session) => {
      session.checkingPassword = true;
      checks++;
      await held;
      session.checkingPassword = false;
      return new Params();
    };
    let evicted = 0;
    let refused = 0;
    const listener = await InterfaceListener.open({
      endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      commands: new Map([
        ['Check', check],
        ['Ping', () => new Params()],
      ]),
      interfaceName: 'the test interface',
      label: 'test',
      log: undefined,
      maxConnections: 2,
      timeouts: { loginMs: 60_000, stallMs: 60_000, onTimeout: () => {} },
      onRefused: () => refused++,
      onEvicted: () => evicted++,
    });
    const clients: WireClient[] = [];
    const open = async () => {
      const c = await within(connectTo(listener.address), 5000, 'a connection');
      clients.push(c);
      return c;
    };
    try {
      const checking = await open();
      checking.send('Check');
      await waitFor('the first check to start', () => checks === 1);
      const idle = await open();
      await within(expectOk(idle, 'Ping'), 5000, 'the reply to the idle connection');
      // Full: the idle connection makes room, not the older one in its check.
      const newcomer = await open();
      await within(idle.closed, 5000, 'the idle connection closed to make room');
      assert.equal(evicted, 1);
      // Both checking: a new connection is closed at once.
      newcomer.send('Check');
      await waitFor('the second check to start', () => checks === 2);
      const late = await open();
      await within(late.closed, 5000, 'the connection beyond the limit closed');
      assert.equal(refused, 1);
      release();
      for (const c of [checking, newcomer]) {
        const reply = await within(c.next(), 5000, 'the reply to a check');
        assert.equal(reply?.topic, 'Ok', String(reply));
      }
    } finally {
      release(); // the sessions end only after their handler
      for (const c of clients) c.socket.destroy();
      await listener.close();
    }
  });

  it('a connection not logged in within loginTimeoutMs is closed, one logged in is not', async () => {
    // Room for the member to connect and send its Auth on a busy machine (its check may take longer).
    const t = await setup({ limits: { loginTimeoutMs: 1000 } });
    try {
      const member = await t.sender();
      const stranger = await t.open(t.sim.sender.msgif);
      await closedBySim(stranger, 'a connection that did not log in');
      assert.ok(
        t.log.some((l) => /msgif#2 closing: not logged in within 1000 ms$/.test(l)),
        'the closing is logged with its reason',
      );
      // Logged in at once, before the stranger connected: still served after the stranger's time ran out.
      assert.equal((await expectOk(member, 'WhoAmI')).Name, 'all');
      // Logged out, the time limit runs again.
      await expectOk(member, 'Unauth');
      await closedBySim(member, 'a connection that logged out');
      assert.equal(t.sim.stats().connectionsTimedOut, 2);
    } finally {
      await t.stop();
    }
  });

  it('a Msg whose bytes stop arriving is timed out: the connection closed, its spool file removed, the loss reported', async () => {
    // No spool reserve: the Msg claims its announced size of free space, and no more.
    const t = await setup({ limits: { stallTimeoutMs: 1000, spoolMinFreeBytes: 0 } });
    const losses: LossEvent[] = [];
    t.sim.on('loss', (e) => losses.push(e));
    try {
      const spool = t.spoolDir;
      // Quiet between requests and between the chunks of a stream: not stalled.
      const idle = await t.sender();
      const streaming = await t.sender();
      await expectOk(streaming, 'Strm', { _Ch: '1' });
      streaming.send('Chunk', { Len: 3 });
      streaming.socket.write('abc');

      // Larger than the link's memory budget (128 MiB): the receiving end spools it to a file.
      const stalled = await t.sender();
      await expectOk(stalled, 'Msg', { _Ch: '1', Len: 160 * MiB });
      stalled.socket.write(Buffer.alloc(4 * MiB));
      await waitForAsync(
        'the upload being spooled to a file',
        async () => (await readdir(spool)).length > 0,
      );
      await closedBySim(stalled, 'the stalled upload');

      assert.ok(
        t.log.some((l) =>
          /msgif#3 closing: no byte from the client for 1000 ms in the middle of a request$/.test(
            l,
          ),
        ),
        'the closing is logged with its reason',
      );
      await waitForAsync(
        'the spool file being removed',
        async () => (await readdir(spool)).length === 0,
      );
      await until(t.sim, 'the aborted transfer being reported', () =>
        losses.some((e) => e.kind === 'aborted'),
      );
      const stats = t.sim.stats();
      assert.equal(stats.msgsAborted, 1);
      assert.equal(stats.connectionsTimedOut, 1);

      assert.equal((await expectOk(idle, 'WhoAmI')).Name, 'all');
      streaming.send('StrmEnd');
      const end = await within(streaming.next(), 5000, 'the end of the quiet stream');
      assert.equal(end?.topic, 'Ok', String(end));
      assert.equal(end.params.get('Len'), '3');
    } finally {
      await t.stop();
    }
  });

  it('a request cut short, or a stream chunk cut short, and then silent is timed out too', async () => {
    const t = await setup({ limits: { stallTimeoutMs: 100 } });
    try {
      const request = await t.open(t.sim.sender.msgif);
      request.socket.write('WhoAmI\n'); // the empty line that ends it never comes
      const stream = await t.sender();
      await expectOk(stream, 'Strm', { _Ch: '1' });
      stream.send('Chunk', { Len: 10 });
      stream.socket.write('abc'); // 7 bytes short
      await closedBySim(request, 'a request cut short');
      await closedBySim(stream, 'a stream chunk cut short');
      const closings = t.log.filter((l) =>
        l.endsWith('closing: no byte from the client for 100 ms in the middle of a request'),
      );
      assert.equal(closings.length, 2, t.log.join('\n'));
      await until(t.sim, 'the stream being aborted', () => t.sim.stats().msgsAborted === 1);
    } finally {
      await t.stop();
    }
  });
});
