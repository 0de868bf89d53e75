/**
 * The options of `subscription`: the channel, retries and delay (checked
 * before connecting, or taken from a config), and how the subscription
 * gives up, against an address where nothing listens: the retry statuses,
 * the final `DISCONNECTED` naming the channel, the address and the count,
 * with the last error as cause; and an abort during a retry delay.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { Config } from '../../src/conf.ts';
import type { ProtAddr } from '../../src/conn/index.ts';
import {
  type SubscriptionOptions,
  type SubscriptionStatus,
  subscription,
} from '../../src/msg/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { hang } from '../helpers/fake-server.ts';
import { freePort } from '../helpers/free-port.ts';

const files = closedAfterFile();

/** An address where nothing listens: every connect is refused (`IO`, retried). */
async function deadAddr(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

/** Runs a subscription to `addr` until it ends; its statuses, and its error. */
async function giveUp(addr: string | ProtAddr, options: SubscriptionOptions) {
  const statuses: SubscriptionStatus[] = [];
  const it = subscription(addr, { ...options, onStatus: (s) => statuses.push(s) });
  const err = await rejectsCode(it.next(), 'DISCONNECTED', 5000);
  return { err, statuses };
}

const statusOf = (s: SubscriptionStatus) =>
  s.type === 'lost' ? `lost ${s.error.code}` : s.type === 'retrying' ? s : s.type;

describe('checked before connecting', () => {
  it('a channel is needed: from ch, or from the config', async () => {
    const node = await files.fake(hang);
    const err = await rejectsCode(subscription(node.addr, {}).next(), 'BAD_PARAMS');
    assert.equal(err.message, 'No channel to subscribe to: pass ch, or a config with a channel');
    const noChannel = await rejectsCode(
      subscription(node.addr, { config: new Config() }).next(),
      'BAD_PARAMS',
    );
    assert.equal(noChannel.message, err.message);
    assert.equal(node.accepted, 0);
  });

  it('retries must be a non-negative integer, retryDelayMs a non-negative number', async () => {
    const node = await files.fake(hang);
    for (const retries of [-1, 1.5, Number.NaN]) {
      const err = await rejectsCode(
        subscription(node.addr, { ch: 7, retries }).next(),
        'BAD_PARAMS',
      );
      assert.equal(err.message, `retries must be a non-negative integer, got ${retries}`);
    }
    for (const retryDelayMs of [-1, Number.NaN]) {
      const err = await rejectsCode(
        subscription(node.addr, { ch: 7, retryDelayMs }).next(),
        'BAD_PARAMS',
      );
      assert.equal(err.message, `retryDelayMs must be a non-negative number, got ${retryDelayMs}`);
    }
    assert.equal(node.accepted, 0);
  });
});

describe('giving up', () => {
  it('retries 0: one attempt, then DISCONNECTED naming channel, address and count, with the cause', async () => {
    const addr = await deadAddr();
    const { err, statuses } = await giveUp(addr, { ch: 7, retries: 0 });
    const cause = err.cause as { code?: string; message?: string };
    assert.equal(cause.code, 'IO');
    assert.equal(
      err.message,
      `Subscription to channel 7 at ${addr} failed 1 times in a row (retries: 0): ${cause.message}`,
    );
    assert.deepEqual(statuses.map(statusOf), ['lost IO']);
  });

  it('retries 2 with a delay: each attempt is lost, then retried, counting up', async () => {
    const addr = await deadAddr();
    const { err, statuses } = await giveUp(addr, { ch: 'news', retries: 2, retryDelayMs: 1 });
    assert.match(
      err.message,
      /^Subscription to channel news at .* failed 3 times in a row \(retries: 2\)/,
    );
    assert.deepEqual(statuses.map(statusOf), [
      'lost IO',
      { type: 'retrying', attempt: 1, of: 2, delayMs: 1 },
      'lost IO',
      { type: 'retrying', attempt: 2, of: 2, delayMs: 1 },
      'lost IO',
    ]);
  });

  it('an address given as an object is shown as such', async () => {
    const addr: ProtAddr = { kind: 'tcp', host: '127.0.0.1', port: await freePort() };
    const { err } = await giveUp(addr, { ch: 7, retries: 0 });
    assert.ok(
      err.message.startsWith(`Subscription to channel 7 at ${JSON.stringify(addr)} failed 1 times`),
      err.message,
    );
  });

  it('leaves no listener on its signal behind', async () => {
    const ac = new AbortController();
    await giveUp(await deadAddr(), { ch: 7, retries: 3, retryDelayMs: 0, signal: ac.signal });
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  });
});

describe('the config', () => {
  it('gives the channel, the retries and the delay (config.receiver)', async () => {
    const config = new Config().setAppCh('news');
    config.receiver = { subRetries: 1, subRetryDelayMs: 2 };
    const { err, statuses } = await giveUp(await deadAddr(), { config });
    assert.match(
      err.message,
      /^Subscription to channel news at .* failed 2 times in a row \(retries: 1\)/,
    );
    assert.deepEqual(statuses[1], { type: 'retrying', attempt: 1, of: 1, delayMs: 2 });
  });

  it('is overridden by the options', async () => {
    const config = new Config().setAppCh('news');
    config.receiver = { subRetries: 4, subRetryDelayMs: 2 };
    const { err, statuses } = await giveUp(await deadAddr(), {
      config,
      ch: 'other',
      retries: 1,
      retryDelayMs: 3,
    });
    assert.match(err.message, /^Subscription to channel other at .* \(retries: 1\)/);
    assert.deepEqual(statuses[1], { type: 'retrying', attempt: 1, of: 1, delayMs: 3 });
  });

  it('without a [receiver] section: 5 retries, 1 s apart; an abort during the delay ends it at once', async () => {
    const ac = new AbortController();
    const statuses: SubscriptionStatus[] = [];
    const it = subscription(await deadAddr(), {
      config: new Config().setAppCh(7),
      signal: ac.signal,
      onStatus: (s) => {
        statuses.push(s);
        if (s.type === 'retrying') ac.abort();
      },
    });
    assert.deepEqual(await within(it.next(), 5000, 'the end of the aborted subscription'), {
      done: true,
      value: undefined,
    });
    assert.deepEqual(statuses.map(statusOf), [
      'lost IO',
      { type: 'retrying', attempt: 1, of: 5, delayMs: 1000 },
    ]);
  });

  for (const when of ['while the retrying status is told', 'during the delay'] as const) {
    it(`a long retry delay is cut short by an abort ${when}`, async () => {
      const ac = new AbortController();
      const it = subscription(await deadAddr(), {
        ch: 7,
        retryDelayMs: 600_000,
        signal: ac.signal,
        onStatus: (s) => {
          if (s.type !== 'retrying') return;
          // The delay begins as soon as onStatus returns: the next turn is in it.
          if (when === 'during the delay') setImmediate(() => ac.abort());
          else ac.abort();
        },
      });
      assert.deepEqual(await within(it.next(), 5000, 'the abort to end the retry delay'), {
        done: true,
        value: undefined,
      });
    });
  }
});
