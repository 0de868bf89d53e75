/** fedReadable: backpressure on offer, and a consumer that destroys the stream early. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fedReadable } from '../../src/blather/fed-readable.ts';
import { within } from '../helpers/deadline.ts';

describe('fedReadable', () => {
  it('makes the producer wait until the consumer wants more', async () => {
    const fed = fedReadable({ highWaterMark: 4 });
    assert.equal(fed.offer(Buffer.from('ab')), undefined, 'room left: no wait');
    const wait = fed.offer(Buffer.from('cdef'));
    assert.ok(wait instanceof Promise, 'full: the producer waits');
    assert.equal(String(fed.stream.read()), 'abcdef');
    await within(wait, 5000, 'the offer to be taken');
  });

  it('once destroyed, says so, calls onDestroy once, frees a waiting producer and drops what follows', async () => {
    let calls = 0;
    const fed = fedReadable({ highWaterMark: 2, onDestroy: () => calls++ });
    const wait = fed.offer(Buffer.from('abc'));
    assert.equal(fed.destroyed, false);
    fed.stream.destroy();
    assert.equal(fed.destroyed, true);
    await within(Promise.resolve(wait), 5000, 'the waiting producer to be freed');
    assert.equal(fed.offer(Buffer.from('more')), undefined, 'dropped without a wait');
    fed.stream.destroy();
    await within(once(fed.stream, 'close'), 5000, 'the stream to close');
    assert.equal(calls, 1);
    assert.equal(fed.stream.errored, null);
  });

  it('can be destroyed without an onDestroy', async () => {
    const fed = fedReadable();
    fed.stream.destroy();
    await within(once(fed.stream, 'close'), 5000, 'the stream to close');
    assert.equal(fed.stream.errored, null);
    assert.equal(fed.destroyed, true);
  });
});
