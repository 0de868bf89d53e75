/** `ddmw file send|recv` and `ddmw folder send|recv`, run as processes against a simulator. */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blather, connect, msg } from '../../src/index.ts';
import { CliSim } from '../helpers/cli-sim.ts';
import { sha } from '../helpers/sha.ts';

let cli: CliSim;
before(async () => {
  cli = await CliSim.start();
});
after(async () => {
  await cli.close();
});

let n = 0;
async function folderOf(files: Record<string, string>): Promise<string> {
  const dir = join(cli.dir, `tree-${++n}`);
  await mkdir(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

describe('ddmw file and folder', () => {
  it('file send and file recv: one file, its name and content', async () => {
    const src = await folderOf({ 'report.txt': 'the report' });
    const out = join(cli.dir, 'file-in');
    const recv = await cli.subscribed('file', 'recv', '--out', out);
    const file = join(src, 'report.txt');
    const sent = await cli.run('--json', 'file', 'send', file, '--as', 'q4/report.txt');
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(await recv.exitCode(), 0, recv.stderr);
    const s = JSON.parse(sent.stdout);
    assert.deepEqual([s.path, s.sha256], ['q4/report.txt', sha(Buffer.from('the report'))]);
    const stored = join(out, 'q4', 'report.txt');
    assert.equal(recv.stdout, `received q4/report.txt (10 bytes) -> ${stored}\n`);
    assert.equal(await readFile(join(out, 'q4', 'report.txt'), 'utf8'), 'the report');
  });

  it('folder send and folder recv: the tree arrives; a second send sends nothing; hostile messages are refused on stderr', async () => {
    const files = { 'a.txt': 'a', 'sub/b.txt': 'b', 'sub/deeper/c.txt': 'c' };
    const src = await folderOf(files);
    const out = join(cli.dir, 'folder-in');
    const recv = await cli.subscribed('folder', 'recv', out, '--count', '3');
    // A crafted transfer trying to leave the folder, sent first.
    const conn = await connect(cli.sim.sender.msgif, { auth: { name: 'cli', pass: 'cli-pass' } });
    const meta = new blather.Params({
      Format: 'ddmw-file/1',
      Path: '../escape',
      Size: 1,
      Mode: '644',
      MTime: 0,
      Sha256: sha(Buffer.from('x')),
    });
    await msg.send(conn, { ch: 'cli', meta, payload: 'x' });
    await conn.close();
    const sent = await cli.run('folder', 'send', src);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stderr, /3 sent, 0 sent before, 0 not sent/);
    assert.equal(await recv.exitCode(), 0, recv.stderr);
    assert.match(recv.stderr, /refused .*: .*Path "\.\.\/escape": a "\.\." part/);
    assert.deepEqual(
      (await readdir(cli.dir)).filter((f) => f === 'escape'),
      [],
    );
    for (const [path, content] of Object.entries(files)) {
      assert.equal(await readFile(join(out, path), 'utf8'), content);
    }
    const again = await cli.run('folder', 'send', src);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /0 sent, 3 sent before, 0 not sent/);
  });

  it('folder send --watch sends new files until SIGTERM (exit 143)', async () => {
    const src = await folderOf({});
    const out = join(cli.dir, 'watch-in');
    const recv = await cli.subscribed('folder', 'recv', out, '--count', '1');
    const watch = cli.start([
      'folder',
      'send',
      src,
      '--watch',
      '--poll-ms',
      '50',
      '--settle-ms',
      '100',
    ]);
    await writeFile(join(src, 'late.txt'), 'late');
    await watch.waitFor('stdout', /sent late\.txt \(4 bytes\)/, 'the watcher to send late.txt');
    assert.equal(await recv.exitCode(), 0, recv.stderr);
    assert.equal((await watch.stop('SIGTERM')).code, 143);
    assert.equal(await readFile(join(out, 'late.txt'), 'utf8'), 'late');
  });

  it('refuses bad flags as usage errors', async () => {
    const src = await folderOf({ x: 'x' });
    const bad = await cli.run('folder', 'send', src, '--after', 'shred');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--after must be keep, delete or move:<folder>/);
    const missing = await cli.run('file', 'send', join(src, 'nope'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Cannot send .*nope: ENOENT/);
  });
});
