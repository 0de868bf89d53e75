/**
 * The watchdog of a connection's time limits: it calls its owner a couple
 * of turns of the event loop after the deadline, and never once stopped,
 * even when its timer has fired already.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Watchdog } from '../../src/conn/watchdog.ts';
import { waitFor, within } from '../helpers/deadline.ts';

/** Resolves after `n` turns of the event loop. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Arms `dog` for now and resolves once its timer has fired: a timer of the
 * same delay set after it runs after it.
 */
async function fired(dog: Watchdog): Promise<void> {
  dog.arm(performance.now()); // a delay of 1 ms
  await within(
    new Promise<void>((resolve) => setTimeout(resolve, 1)),
    5000,
    'a 1 ms timer to fire',
  );
}

describe('the watchdog', () => {
  it('calls its owner after its timer fired and the I/O then pending', async () => {
    let calls = 0;
    const dog = new Watchdog(() => calls++);
    await fired(dog);
    assert.equal(calls, 0, 'not in the turn its timer fired');
    await waitFor('the owner being called', () => calls === 1);
  });

  it('never calls its owner once stopped, even after its timer fired', async () => {
    let calls = 0;
    const dog = new Watchdog(() => calls++);
    await fired(dog);
    dog.stop();
    await turns(5);
    assert.equal(calls, 0);
    // Armed again, it works as before.
    await fired(dog);
    await waitFor('the owner being called', () => calls === 1);
  });

  it('calls its owner once when its timer fires again before the call, and never after stop', async () => {
    let calls = 0;
    const dog = new Watchdog(() => {
      calls++;
      dog.stop();
    });
    dog.arm(performance.now()); // a delay of 1 ms
    const rearmed = new Promise<void>((resolve) =>
      setTimeout(() => {
        // The watchdog's timer fired just before this one: arm it again, and let it come due
        // before the owner's call of the first firing.
        dog.arm(performance.now());
        const busyUntil = performance.now() + 5;
        while (performance.now() < busyUntil) {}
        resolve();
      }, 1),
    );
    await within(rearmed, 5000, 'a 1 ms timer to fire');
    await waitFor('the owner being called', () => calls >= 1);
    await turns(10);
    assert.equal(calls, 1, 'one call, and none after stop()');
  });
});
