/** The one-way link: datagram format, reassembly, fault injection, options, clean shutdown. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DdmwError } from '../../src/err.ts';
import { type SimulatorOptions, startSimulator } from '../../src/sim/index.ts';
import {
  datagramCount,
  dataRoom,
  FIXED_SIZE,
  HASH_SIZE,
  type LinkEvent,
  parseDatagram,
  writeFixed,
} from '../../src/sim/link/format.ts';
import { Reassembler } from '../../src/sim/link/reassembly.ts';
import { connectTo, expectOk, readMsg, sendMsg, sha, waitFor } from './wire-client.ts';

const SESSION = Buffer.from('0123456789abcdef', 'hex');

/** Encodes a transfer the way the sending end does, independently of it. */
function encodeTransfer(transfer: number, header: Buffer, data: Buffer, size: number): Buffer[] {
  const count = datagramCount(data.length, header.length, size);
  const out: Buffer[] = [];
  let offset = 0;
  for (let seq = 0; seq < count; seq++) {
    const first = seq === 0;
    const last = seq === count - 1;
    const n = Math.min(dataRoom(seq, count, header.length, size), data.length - offset);
    const buf = Buffer.alloc(FIXED_SIZE + (first ? header.length : 0) + (last ? HASH_SIZE : 0) + n);
    writeFixed(buf, {
      session: SESSION,
      transfer,
      seq,
      count,
      total: data.length,
      offset,
      headerSize: first ? header.length : 0,
    });
    let at = FIXED_SIZE;
    if (first) at += header.copy(buf, at);
    if (last) at += createHash('sha256').update(data).digest().copy(buf, at);
    data.copy(buf, at, offset, offset + n);
    offset += n;
    out.push(buf);
  }
  return out;
}

describe('datagram format', () => {
  it('uses as few datagrams as fit, and fills each one', () => {
    for (const size of [1024, 64000]) {
      for (const header of [0, 100, 500]) {
        for (const total of [0, 1, size - FIXED_SIZE - header - HASH_SIZE, size, 10 * size + 3]) {
          const count = datagramCount(total, header, size);
          let room = 0;
          for (let seq = 0; seq < count; seq++) room += dataRoom(seq, count, header, size);
          assert.ok(room >= total, `room for ${total} bytes`);
          assert.ok(room - total < size, 'no spare datagram');
        }
      }
    }
  });

  it('round-trips the fields and rejects malformed datagrams', () => {
    const data = randomBytes(5000);
    const header = Buffer.from('Msg\n_Ch 1\n\n');
    const [first, second] = encodeTransfer(7, header, data, 3000);
    const d = parseDatagram(first as Buffer);
    assert.ok(typeof d !== 'string');
    assert.deepEqual(
      { ...d, header: d.header?.toString(), data: d.data.length, hash: d.hash },
      {
        session: SESSION.toString('hex'),
        transfer: 7,
        seq: 0,
        count: 2,
        total: 5000,
        offset: 0,
        header: header.toString(),
        data: 3000 - FIXED_SIZE - header.length,
        hash: undefined,
      },
    );
    const last = parseDatagram(second as Buffer);
    assert.ok(typeof last !== 'string' && last.hash?.length === HASH_SIZE);
    const broken = (edit: (b: Buffer) => void) => {
      const b = Buffer.from(second as Buffer);
      edit(b);
      return parseDatagram(b);
    };
    assert.equal(parseDatagram(Buffer.alloc(10)), 'not a link datagram');
    assert.equal(
      broken((b) => b.writeUInt32BE(0, 0)),
      'not a link datagram',
    );
    assert.equal(
      broken((b) => b.writeUInt32BE(2, 24)),
      'bad sequence',
    );
    assert.equal(
      broken((b) => b.writeUInt32BE(3, 28)),
      'bad sequence',
    );
    assert.equal(
      broken((b) => b.writeUInt32BE(100, 36)),
      'data beyond the end of the transfer',
    );
    assert.equal(
      broken((b) => b.writeUInt32BE(0xffffffff, 32)),
      'a number is out of range',
    );
  });
});

describe('reassembly', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ddmw-sim-link-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  function reassembler(memoryLimit: number) {
    const events: LinkEvent[] = [];
    const r = new Reassembler(
      { host: '127.0.0.1', spoolDir: dir, memoryLimit, timeoutMs: 100, recvBufferSize: 0 },
      (event) => events.push(event),
    );
    return { r, events };
  }

  async function contentOf(event: LinkEvent | undefined): Promise<Buffer> {
    assert.equal(event?.type, 'complete');
    if (event?.type !== 'complete') throw new Error('not complete');
    if (event.bytes) return Buffer.from(event.bytes);
    // The receiver node owns a delivered spool file: it removes it when done.
    const path = event.path as string;
    const content = await readFile(path);
    await unlink(path);
    return content;
  }

  const header = Buffer.from('Msg\nXferId x\n\n');
  for (const [where, limit] of [
    ['memory', 1 << 20],
    ['a spool file', 0],
  ] as const) {
    it(`puts datagrams in order, in any arrival order, with duplicates and late ones ignored (${where})`, async () => {
      const { r, events } = reassembler(limit);
      const data = randomBytes(20_000);
      const datagrams = encodeTransfer(1, header, data, 2000);
      const shuffled = [...datagrams].reverse();
      r.accept(shuffled[3] as Buffer);
      for (const d of shuffled) r.accept(d);
      r.accept(datagrams[0] as Buffer);
      await waitFor('completion', () => events.some((e) => e.type === 'complete'));
      assert.deepEqual(
        events.filter((e) => e.type === 'ignored').map((e) => e.type === 'ignored' && e.reason),
        ['duplicate datagram 7 of transfer 1', 'late datagram of transfer 1'],
      );
      const complete = events.find((e) => e.type === 'complete');
      assert.deepEqual(await contentOf(complete), data);
      if (complete?.type === 'complete') assert.deepEqual(Buffer.from(complete.header), header);
      await r.close();
    });
  }

  it('reports a transfer with a missing datagram lost after the timeout and removes its file', async () => {
    const { r, events } = reassembler(0);
    const datagrams = encodeTransfer(1, header, randomBytes(10_000), 2000);
    for (const d of datagrams.filter((_, i) => i !== 2)) r.accept(d);
    await waitFor('the loss', () => events.length > 0);
    assert.deepEqual(events, [
      { type: 'lost', transfers: 1, reason: 'transfer 1: datagram 2 of 6 missing for 100 ms' },
    ]);
    await r.close();
    assert.deepEqual(await readdir(dir), []);
  });

  it('notices transfers of which nothing arrived, and corrupt ones', async () => {
    const { r, events } = reassembler(0);
    for (const d of encodeTransfer(1, header, randomBytes(10), 2000)) r.accept(d);
    const corrupt = encodeTransfer(4, header, randomBytes(5000), 2000);
    const lastOne = corrupt[corrupt.length - 1] as Buffer;
    lastOne[lastOne.length - 1] = (lastOne[lastOne.length - 1] as number) ^ 1;
    for (const d of corrupt) r.accept(d);
    await waitFor('the verdicts', () => events.length === 3);
    await contentOf(events.find((e) => e.type === 'complete'));
    assert.deepEqual(
      events.filter((e) => e.type !== 'complete'),
      [
        {
          type: 'lost',
          transfers: 2,
          reason: 'no datagram of 2 transfer(s) before transfer 4 arrived',
        },
        { type: 'corrupt', reason: 'transfer 4: sha-256 mismatch' },
      ],
    );
    await r.close();
    assert.deepEqual(await readdir(dir), []);
  });

  it('posts completed transfers in the order they completed, spooled or not', async () => {
    const { r, events } = reassembler(1000);
    const big = randomBytes(200_000);
    for (const d of encodeTransfer(1, Buffer.from('Msg\nN 1\n\n'), big, 60_000)) r.accept(d);
    for (const d of encodeTransfer(2, Buffer.from('Msg\nN 2\n\n'), Buffer.from('small'), 60_000))
      r.accept(d);
    await waitFor('both', () => events.length === 2);
    assert.deepEqual(await contentOf(events[0]), big);
    assert.deepEqual(await contentOf(events[1]), Buffer.from('small'));
    await r.close();
  });

  it('removes the files of unfinished transfers on close', async () => {
    const { r, events } = reassembler(0);
    r.accept(encodeTransfer(1, header, randomBytes(10_000), 2000)[0] as Buffer);
    await r.close();
    assert.deepEqual(events, []);
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('fault injection on a running simulator', () => {
  it('counts and logs lost and corrupt transfers and delivers only the intact ones', async () => {
    const log: string[] = [];
    const sim = await startSimulator({
      accounts: [{ name: 'all', pass: 'pw', perms: ['*'] }],
      log: (line) => log.push(line),
      link: {
        transport: 'udp',
        datagramSize: 4000,
        // Transfer 1: one datagram lost. Transfer 2: corrupted. Transfer 3: all lost. 4: intact.
        fault: ({ transfer, seq }) =>
          transfer === 1 && seq === 1
            ? 'drop'
            : transfer === 2 && seq === 0
              ? 'corrupt'
              : transfer === 3
                ? 'drop'
                : undefined,
      },
    });
    const sub = await connectTo(sim.receiver.subif);
    const snd = await connectTo(sim.sender.msgif);
    try {
      for (const c of [sub, snd]) await expectOk(c, 'Auth', { AccName: 'all', Pass: 'pw' });
      await expectOk(sub, 'Sub', { Ch: '1' });
      const payloads = [1, 2, 3, 4].map(() => randomBytes(10_000));
      const ids: string[] = [];
      for (const payload of payloads) ids.push(await sendMsg(snd, { ch: 1, payload }));
      const got = await readMsg(sub);
      assert.equal(got?.params.XferId, ids[3], 'only the intact message arrives');
      assert.equal(got?.payloadSha, sha(payloads[3]));
      await waitFor('the timeout of transfer 1', () => sim.stats().transfersLost === 2);
      const stats = sim.stats();
      assert.equal(stats.transfersSent, 4);
      assert.equal(stats.transfersCorrupt, 1);
      assert.equal(stats.transfersDelivered, 1);
      assert.equal(stats.datagramsDropped, 1 + 3);
      assert.ok(log.some((line) => line.startsWith('link: corrupt: transfer 2')));
      assert.ok(
        log.some((line) => line.includes('no datagram of 1 transfer(s) before transfer 4')),
      );
      assert.ok(log.some((line) => line.includes('transfer 1: datagram 1 of 3 missing')));
    } finally {
      sub.socket.destroy();
      snd.socket.destroy();
      await sim.close();
    }
  });
});

describe('pacing', () => {
  it('sends no faster than the configured rate', async () => {
    const rate = 32 * 1024 * 1024;
    const sim = await startSimulator({
      accounts: [{ name: 'all', pass: 'pw', perms: ['*'] }],
      link: { rateBytesPerSec: rate },
    });
    const sub = await connectTo(sim.receiver.subif);
    const snd = await connectTo(sim.sender.msgif);
    try {
      for (const c of [sub, snd]) await expectOk(c, 'Auth', { AccName: 'all', Pass: 'pw' });
      await expectOk(sub, 'Sub', { Ch: '1' });
      const payload = randomBytes(8 * 1024 * 1024);
      const received = readMsg(sub);
      await sendMsg(snd, { ch: 1, payload });
      const start = performance.now();
      assert.equal((await received)?.payloadSha, sha(payload));
      const ms = performance.now() - start;
      assert.ok(ms >= 0.95 * ((payload.length / rate) * 1000), `took ${ms.toFixed(0)} ms`);
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
    ['a zero queue limit', { queueLimit: 0 }],
    ['a push channel over 255', { push: [{ ch: 256, addr: '127.0.0.1:1' }] }],
    ['an empty push channel', { push: [{ ch: '', addr: '127.0.0.1:1' }] }],
    ['a push address without a port', { push: [{ ch: 1, addr: 'localhost' }] }],
  ];
  for (const [what, options] of invalid) {
    it(`rejects ${what}`, async () => {
      await assert.rejects(
        startSimulator(options),
        (err: unknown) => err instanceof DdmwError && err.code === 'BAD_INPUT',
      );
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
    const child = spawn(
      process.execPath,
      [...process.execArgv, '--input-type=module', '--eval', script],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const timer = setTimeout(() => child.kill(), 15_000);
    const code = await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    assert.equal(out.trim(), 'closed');
    assert.equal(code, 0, 'the process ends by itself after close()');
  });
});
