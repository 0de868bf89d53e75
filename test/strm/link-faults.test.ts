/**
 * Streams over a faulty link: a segment lost or damaged on the way makes
 * the subscribers' stream fail; it never completes with a hole in it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/conn/index.ts';
import { DdmwError } from '../../src/err.ts';
import { recv, subscribe } from '../../src/msg/index.ts';
import type { DatagramInfo } from '../../src/sim/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { open, type StreamEvent } from '../../src/strm/index.ts';
import { within } from '../helpers/deadline.ts';

const APP = { name: 'app', pass: 'app-pass' };
let sim: Simulator;
let verdict: (d: DatagramInfo) => 'drop' | 'corrupt' | undefined = () => undefined;

before(async () => {
  sim = await startSimulator({
    accounts: [{ ...APP, perms: ['*'] }],
    link: { fault: (d) => verdict(d) },
  });
});
after(() => sim.close());

/** Streams 8 MiB (8 segments of 1 MiB) with `fault` applied to the 5th link transfer from now (a segment). */
async function streamWith(fault: 'drop' | 'corrupt'): Promise<unknown> {
  const sub = await connect(sim.receiver.subif, { auth: APP });
  const out = await connect(sim.sender.msgif, { auth: APP });
  try {
    await subscribe(sub, 1);
    let first: number | undefined;
    verdict = (d) => {
      first ??= d.transfer;
      return d.transfer === first + 4 ? fault : undefined;
    };
    const w = open(out, { ch: 1 });
    const received = recv(sub, { streams: true })
      .then(async (item) => {
        for await (const _ of (item as StreamEvent).stream);
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    w.end(Buffer.alloc(8 * 1024 * 1024, 1));
    await once(w, 'finish'); // the sender node cannot know: nothing comes back over the link
    return await within(received, 30_000, 'the end of the stream at the subscriber');
  } finally {
    verdict = () => undefined;
    await sub.close();
    await out.close();
  }
}

describe('strm over a faulty link', () => {
  for (const fault of ['drop', 'corrupt'] as const) {
    it(`a ${fault === 'drop' ? 'lost' : 'damaged'} segment aborts the stream for the subscriber`, async () => {
      const err = await streamWith(fault);
      assert.ok(err instanceof DdmwError, `expected an error, got ${String(err)}`);
      assert.equal(err.code, 'ABORTED');
      assert.match(err.message, /lost on the link/);
    });
  }
});
