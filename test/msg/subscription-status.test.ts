/**
 * What `subscription` tells (`onStatus`) and does against scripted receiver
 * nodes: a loss and a resubscription, a skipped message (a status, or a
 * process warning without `onStatus`), a stream (skipped, never yielded),
 * data that puts the connection out of step (retried a limited number of
 * times), an abort while the node has not answered `Sub`, a refusal, and
 * the connection closed whenever the subscription ends.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { DdmwError } from '../../src/err.ts';
import {
  type SubscriptionOptions,
  type SubscriptionStatus,
  subscription,
} from '../../src/msg/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import type { FakeConn } from '../helpers/fake-server.ts';
import { startHeldServer } from '../helpers/held-server.ts';

const files = closedAfterFile();

/** A `Msg` on channel 7 with its payload. */
function msg(xferId: string, payload: string, cmd = 1): Buffer {
  return Buffer.concat([
    encodeTelegram(
      new Telegram('Msg', { _Ch: 7, XferId: xferId, Cmd: cmd, Len: Buffer.byteLength(payload) }),
    ),
    Buffer.from(payload),
  ]);
}

/**
 * A receiver node whose n-th connection (from 0) answers `Sub` with `Ok`,
 * then writes `after[n]` (the last one for later connections), then ends
 * the connection when `end` says so.
 */
async function node(after: { bytes: Buffer; end?: boolean }[]) {
  const subs: Telegram[] = [];
  const server = await files.fake(async ({ socket, reader }: FakeConn) => {
    const n = subs.length;
    subs.push(await reader.readTelegram());
    socket.write(encodeTelegram(new Telegram('Ok')));
    const step = after[Math.min(n, after.length - 1)] as { bytes: Buffer; end?: boolean };
    if (step.end) socket.end(step.bytes);
    else socket.write(step.bytes);
  });
  return { server, subs };
}

/** Runs a subscription until `count` messages came; their ids and the statuses told meanwhile. */
async function receive(addr: string, count: number, options: SubscriptionOptions = {}) {
  const statuses: SubscriptionStatus[] = [];
  const ids: (string | undefined)[] = [];
  const run = (async () => {
    for await (const m of subscription(addr, {
      ch: 7,
      retries: 2,
      retryDelayMs: 0,
      onStatus: (s) => statuses.push(s),
      ...options,
    })) {
      ids.push(m.xferId);
      if (ids.length === count) break;
    }
  })();
  await within(run, 5000, `${count} messages`, () => `statuses: ${statuses.map((s) => s.type)}`);
  return { statuses, ids };
}

describe('statuses', () => {
  it('subscribed, lost, retrying, subscribed again: counts and reasons', async () => {
    const { server, subs } = await node([
      { bytes: msg('a', 'one'), end: true },
      { bytes: msg('b', 'two') },
    ]);
    const { statuses, ids } = await receive(server.addr, 2);
    assert.deepEqual(ids, ['a', 'b']);
    assert.deepEqual(
      subs.map((tg) => [tg.topic, tg.params.get('Ch')]),
      [
        ['Sub', '7'],
        ['Sub', '7'],
      ],
    );
    assert.deepEqual(
      statuses.map((s) => (s.type === 'lost' ? `lost ${s.error.code}` : s)),
      [
        { type: 'subscribed', attempt: 0 },
        'lost DISCONNECTED',
        { type: 'retrying', attempt: 1, of: 2, delayMs: 0 },
        { type: 'subscribed', attempt: 1 },
      ],
    );
    await within(server.allClosed(), 5000, 'breaking out of the loop to close the connection');
  });

  it('a skipped message is told as skipped, with its error and the count; the next one is yielded', async () => {
    const { server } = await node([
      { bytes: Buffer.concat([msg('a', 'one', 2), msg('b', 'two')]) },
    ]);
    const { statuses, ids } = await receive(server.addr, 1, {
      storeq: (info) => {
        if (info.cmd === 2) throw new Error('no store for cmd 2');
        return 'bytes';
      },
    });
    assert.deepEqual(ids, ['b']);
    assert.deepEqual(
      statuses.map((s) => (s.type === 'skipped' ? [s.type, s.error.message, s.skipped] : s.type)),
      [
        'subscribed',
        [
          'skipped',
          'Message a (channel 7, cmd 2) was skipped: storeq refused the message: no store for cmd 2',
          1,
        ],
      ],
    );
  });

  it('without onStatus, a skipped message is a process warning, and the subscription goes on', async (t) => {
    const warn = t.mock.method(process, 'emitWarning', () => {});
    const { server } = await node([
      { bytes: Buffer.concat([msg('a', 'one', 2), msg('b', 'two')]) },
    ]);
    const ids: (string | undefined)[] = [];
    const run = (async () => {
      for await (const m of subscription(server.addr, {
        ch: 7,
        storeq: (info) => (info.cmd === 2 ? { file: '' } : 'bytes'),
      })) {
        ids.push(m.xferId);
        break;
      }
    })();
    await within(run, 5000, 'the message after the skipped one');
    assert.deepEqual(ids, ['b']);
    assert.deepEqual(
      warn.mock.calls.map((c) => c.arguments),
      [
        [
          'Message a (channel 7, cmd 2) was skipped: storeq chose {"file":""} for the metadata: ' +
            "expected 'none', 'bytes', 'params', 'kvlines', 'stream' or { file: path }",
          { code: 'DDMW_MSG_SKIPPED' },
        ],
      ],
    );
  });

  it('a stream is skipped and told, never yielded', async () => {
    const stream = 'Strm\n_Ch 7\nXferId s\n\nChunk\nLen 3\n\nabcStrmAbort\nReason gone\n\n';
    const { server } = await node([
      { bytes: Buffer.concat([Buffer.from(stream), msg('b', 'two')]) },
    ]);
    const { statuses, ids } = await receive(server.addr, 1);
    assert.deepEqual(ids, ['b']);
    const skipped = statuses.find((s) => s.type === 'skipped');
    assert.equal(skipped?.type === 'skipped' && skipped.error.code, 'BAD_PARAMS');
    assert.match(
      skipped?.type === 'skipped' ? skipped.error.message : '',
      /^Message s \(channel 7\) was skipped: It is a stream: pass \{ streams: true \}/,
    );
  });
});

describe('data that puts the connection out of step', () => {
  it('is a loss, retried; after retries+1 in a row it gives up, naming the last error as cause', async () => {
    const { server } = await node([{ bytes: encodeTelegram(new Telegram('Ok')) }]);
    const statuses: SubscriptionStatus[] = [];
    const it = subscription(server.addr, {
      ch: 7,
      retries: 1,
      retryDelayMs: 0,
      onStatus: (s) => statuses.push(s),
    });
    const err = await rejectsCode(it.next(), 'DISCONNECTED', 5000);
    const unexpected = 'Unexpected reply from server: expected Msg, got "Ok"';
    assert.equal(
      err.message,
      `Subscription to channel 7 at ${server.addr} was put out of step by the node's data 2 times in a row without a message (retries: 1): ${unexpected}`,
    );
    const cause = err.cause as DdmwError;
    assert.ok(cause instanceof DdmwError && cause.code === 'BAD_STATE', String(cause));
    assert.equal(cause.message, unexpected);
    assert.deepEqual(
      statuses.map((s) => (s.type === 'lost' ? `lost ${s.error.code}` : s.type)),
      ['subscribed', 'lost BAD_STATE', 'retrying', 'subscribed', 'lost BAD_STATE'],
    );
    assert.equal(server.accepted, 2);
  });
});

describe('what is retried', () => {
  it('a telegram that does not parse is out-of-step data (BLATHER): retried, then given up', async () => {
    const { server } = await node([{ bytes: Buffer.from('Msg\n bad key\n\n') }]);
    const statuses: string[] = [];
    const it = subscription(server.addr, {
      ch: 7,
      retries: 1,
      retryDelayMs: 0,
      onStatus: (s) => statuses.push(s.type === 'lost' ? `lost ${s.error.code}` : s.type),
    });
    const err = await rejectsCode(it.next(), 'DISCONNECTED', 5000);
    assert.match(err.message, /was put out of step by the node's data 2 times in a row/);
    assert.equal((err.cause as DdmwError).code, 'BLATHER');
    assert.deepEqual(statuses, [
      'subscribed',
      'lost BLATHER',
      'retrying',
      'subscribed',
      'lost BLATHER',
    ]);
  });

  it('a node that does not answer the login within connectTimeoutMs is a TIMEOUT, retried', async () => {
    const held = await startHeldServer();
    files.defer(() => held.close());
    const statuses: string[] = [];
    const it = subscription(held.addr, {
      ch: 7,
      auth: { name: 'app', pass: 'app-pass' },
      connectTimeoutMs: 50,
      retries: 1,
      retryDelayMs: 0,
      onStatus: (s) => statuses.push(s.type === 'lost' ? `lost ${s.error.code}` : s.type),
    });
    const err = await rejectsCode(it.next(), 'DISCONNECTED', 5000);
    assert.match(
      err.message,
      /failed 2 times in a row \(retries: 1\): Connecting to .* took longer than 50 ms/,
    );
    assert.deepEqual(statuses, ['lost TIMEOUT', 'retrying', 'lost TIMEOUT']);
    assert.equal(held.fake.accepted, 2);
  });
});

describe('ending', () => {
  it('an abort while the node has not answered Sub ends it quietly and closes the connection', async () => {
    const held = await startHeldServer();
    files.defer(() => held.close());
    const ac = new AbortController();
    const statuses: string[] = [];
    const it = subscription(held.addr, {
      ch: 7,
      signal: ac.signal,
      onStatus: (s) => statuses.push(s.type),
    });
    const next = it.next();
    await held.arrived(1, 'the Sub request');
    ac.abort();
    assert.deepEqual(await within(next, 5000, 'the aborted subscription to end'), {
      done: true,
      value: undefined,
    });
    assert.deepEqual(statuses, []);
    await within(held.fake.allClosed(), 5000, 'the connection to close');
  });

  it('a refused Sub ends it at once with SERVER_ERROR, and closes the connection', async () => {
    const held = await startHeldServer();
    files.defer(() => held.close());
    const statuses: string[] = [];
    const it = subscription(held.addr, {
      ch: 7,
      retries: 3,
      retryDelayMs: 0,
      onStatus: (s) => statuses.push(s.type),
    });
    const next = it.next();
    await held.arrived(1, 'the Sub request');
    held.answer(new Telegram('Fail', { Reason: 'Permission denied: subscribe:7' }));
    const err = await rejectsCode(next, 'SERVER_ERROR', 5000);
    assert.equal(err.message, 'Server replied Fail: Permission denied: subscribe:7');
    assert.deepEqual(statuses, []);
    assert.equal(held.fake.accepted, 1);
    await within(held.fake.allClosed(), 5000, 'the refused connection to close');
  });
});
