/**
 * A full disk while a payload is written to its file: the message is
 * skipped and reported, its partial file removed, and the next message
 * received. A child process under a file size limit (`ulimit -f`, which
 * makes writes fail with EFBIG) stands in for the full disk.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { connect } from '../../src/conn/index.ts';
import { send } from '../../src/msg/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { TestChild } from '../helpers/child.ts';

const APP = { name: 'app', pass: 'app-pass' };
let sim: Simulator;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-disk-full-'));
  sim = await startSimulator({ accounts: [{ ...APP, perms: ['*'] }] });
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

it('a write that fails mid-payload skips the message, removes its file, and goes on', async () => {
  const child = new TestChild(
    'receiving child with a 256 KiB file size limit',
    'bash',
    [
      '-c',
      'ulimit -f 256 && exec node --import tsx "$@"',
      'bash',
      join(import.meta.dirname, 'disk-full-child.ts'),
      sim.receiver.subif,
      '9',
      dir,
      '2',
    ],
    process.env,
  );
  try {
    await child.waitFor('stdout', /"subscribed":true/, 'the subscription');
    const out = await connect(sim.sender.msgif, { auth: APP });
    const tooBig = await send(out, { ch: 9, payload: Buffer.alloc(4 * 1024 * 1024, 7) });
    const small = await send(out, { ch: 9, payload: 'fits' });
    await out.close();
    const exit = await child.exited();
    assert.deepEqual(exit, { code: 0, signal: null }, child.stderr);
    const lines = child.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 2, child.stdout);
    assert.equal(lines[0].skipped, tooBig);
    assert.equal(lines[0].code, 'IO');
    assert.match(lines[0].message, /EFBIG|too large/i);
    assert.deepEqual(lines[1], {
      stored: small,
      payload: { kind: 'file', path: join(dir, small) },
    });
    assert.deepEqual(
      await readdir(dir),
      [small],
      'the partial file of the skipped message was left',
    );
  } finally {
    child.kill();
  }
});
