/** `ddmw udp send|recv`, run as processes against a simulator: datagrams across, in order, counters at exit. */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { CliSim } from '../helpers/cli-sim.ts';
import { waitFor } from '../helpers/deadline.ts';

let cli: CliSim;
before(async () => {
  cli = await CliSim.start();
});
after(async () => {
  await cli.close();
});

describe('ddmw udp', () => {
  it('udp send and udp recv carry datagrams in order and print their counters on SIGTERM', async () => {
    const sink = createSocket('udp4');
    const got: string[] = [];
    sink.on('message', (d: Buffer) => got.push(d.toString()));
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
    const producer = createSocket('udp4');
    try {
      const recv = await cli.subscribed('udp', 'recv', '--to', `127.0.0.1:${sink.address().port}`);
      const send = cli.start(['udp', 'send', '--listen', '127.0.0.1:0', '--batch-ms', '5']);
      const [, port] = await send.waitFor(
        'stderr',
        /listening on UDP 127\.0\.0\.1:(\d+)/,
        'udp send to listen',
      );
      const sent = Array.from({ length: 100 }, (_, i) => `datagram ${i}`);
      for (const d of sent) {
        await new Promise<void>((resolve) =>
          producer.send(d, Number(port), '127.0.0.1', () => resolve()),
        );
      }
      await waitFor(
        '100 datagrams at the sink',
        () => got.length >= 100,
        20_000,
        () => `${got.length}`,
      );
      assert.equal((await send.stop('SIGTERM')).code, 143);
      assert.match(send.stdout, /^100 datagrams in, 100 sent in \d+ batches, 0 dropped\n$/);
      assert.equal((await recv.stop('SIGTERM')).code, 143);
      assert.match(recv.stdout, /^100 datagrams out in \d+ batches; lost 0 datagrams in 0 batches/);
      assert.deepEqual(got, sent);
    } finally {
      sink.close();
      producer.close();
    }
  });

  it('needs --listen and --to, and a valid address', async () => {
    const noListen = await cli.run('udp', 'send');
    assert.equal(noListen.code, 2);
    assert.match(noListen.stderr, /--listen/);
    const bad = await cli.run('udp', 'send', '--listen', 'nowhere');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid UDP address|Invalid address "nowhere"/);
  });
});
