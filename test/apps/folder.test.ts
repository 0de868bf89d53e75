/**
 * Folder transfer (apps/folder) through a simulator: a tree arrives
 * identical; the journal makes a second run send only what changed and a
 * restart after an abort send nothing twice; files are deleted or moved
 * after sending; watching sends a file only once it stopped changing, and
 * never a name marked in progress.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folder, ledger } from '../../src/apps/index.ts';
import { appSimForTests } from '../helpers/app-sim.ts';
import { waitFor, within } from '../helpers/deadline.ts';

const CH = 'tree';
const apps = appSimForTests();

/** A fresh case folder with `src/` and `in/`. */
async function fresh(): Promise<{ src: string; out: string }> {
  const dir = await apps.caseDir('src', 'in');
  return { src: join(dir, 'src'), out: join(dir, 'in') };
}

/** Every file under `dir` (relative path -> content), leaving out names starting with `.ddmw`. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || e.name.startsWith('.ddmw')) continue;
    const abs = join(e.parentPath, e.name);
    out[abs.slice(dir.length + 1)] = await readFile(abs, 'utf8');
  }
  return out;
}

/** A receiver into `out`, subscribed; `stop()` ends it and gives every event. */
async function receiver(out: string) {
  const conn = await apps.subscriber(CH);
  const ac = new AbortController();
  const events: folder.ReceiveEvent[] = [];
  const run = folder.receive(conn, out, { signal: ac.signal, onEvent: (e) => events.push(e) });
  return {
    events,
    /** Waits until `count` files were stored, then stops. */
    async stopAfter(count: number) {
      const what = `${count} files received`;
      await waitFor(
        what,
        () => events.length >= count,
        20_000,
        () => `${events.length} so far`,
      );
      ac.abort();
      await within(run, 5000, 'the receiver to stop');
      await conn.close();
      return events;
    },
  };
}

async function write(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

const TREE = {
  'a.txt': 'alpha',
  empty: '',
  'docs/b.md': 'beta',
  'docs/deep/er/c.bin': 'x'.repeat(200_000),
  'spaces and ü/d e.txt': 'delta',
};

describe('folder transfer', () => {
  it('sends a tree once, leaves out names in progress and links; a second run sends only what changed', async () => {
    const { src, out } = await fresh();
    await write(src, { ...TREE, 'upload.part': 'partial', 'x.tmp': 'tmp' });
    await symlink('/etc/hostname', join(src, 'link'));
    const r = await receiver(out);
    const first = await folder.send(apps.sender, src, { ch: CH });
    assert.deepEqual(first, { sent: 5, failed: 0, unchanged: 0 });
    await r.stopAfter(5);
    assert.deepEqual(await tree(out), TREE);

    await writeFile(join(src, 'a.txt'), 'alpha, changed');
    await writeFile(join(src, 'new.txt'), 'new');
    await mkdir(join(out, '..', 'in2'));
    const r2 = await receiver(join(out, '..', 'in2'));
    const second = await folder.send(apps.sender, src, { ch: CH });
    assert.deepEqual(second, { sent: 2, failed: 0, unchanged: 4 });
    const events = await r2.stopAfter(2);
    assert.deepEqual(events.map((e) => e.type === 'received' && e.file.meta.path).sort(), [
      'a.txt',
      'new.txt',
    ]);
  });

  it('after an abort in the middle, a restart sends the rest and nothing twice', async () => {
    const { src, out } = await fresh();
    const files = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`f/${String(i).padStart(2, '0')}`, `file ${i}`]),
    );
    await write(src, files);
    const r = await receiver(out);
    const ac = new AbortController();
    let sent = 0;
    const onEvent = (e: folder.FolderSendEvent) => {
      if (e.type === 'sent' && ++sent === 12) ac.abort();
    };
    await assert.rejects(folder.send(apps.sender, src, { ch: CH, signal: ac.signal, onEvent }), {
      code: 'ABORTED',
    });
    const rest = await folder.send(apps.sender, src, { ch: CH });
    assert.equal(rest.unchanged + rest.sent, 30);
    assert.equal(rest.unchanged, 12);
    const events = await r.stopAfter(30);
    assert.equal(events.length, 30);
    assert.ok(
      events.every((e) => e.type === 'received' && !e.file.renamed),
      'a file arrived twice',
    );
    assert.deepEqual(await tree(out), files);
  });

  it('a journal with a torn last line (a crash mid-write) still works: nothing sent twice', async () => {
    const { src, out } = await fresh();
    await write(src, { 'one.txt': '1', 'two.txt': '2' });
    const r = await receiver(out);
    assert.equal((await folder.send(apps.sender, src, { ch: CH })).sent, 2);
    await appendFile(join(src, folder.JOURNAL_NAME), '{"path":"three.txt","si');
    await write(src, { 'three.txt': '3' });
    assert.deepEqual(await folder.send(apps.sender, src, { ch: CH }), {
      sent: 1,
      failed: 0,
      unchanged: 2,
    });
    assert.deepEqual(await folder.send(apps.sender, src, { ch: CH }), {
      sent: 0,
      failed: 0,
      unchanged: 3,
    });
    await r.stopAfter(3);
    assert.deepEqual(await tree(out), { 'one.txt': '1', 'two.txt': '2', 'three.txt': '3' });
  });

  it('never sends its own journal, ledger or move folder, even when they are inside the folder', async () => {
    const { src, out } = await fresh();
    await write(src, { 'a.txt': 'a' });
    const r = await receiver(out);
    const book = await ledger.Ledger.open(join(src, 'sent.jsonl'));
    const options = {
      ch: CH,
      ledger: book,
      journal: join(src, 'journal'),
      after: { move: join(src, 'done') },
    };
    assert.equal((await folder.send(apps.sender, src, options)).sent, 1);
    await write(src, { 'b.txt': 'b' });
    assert.equal((await folder.send(apps.sender, src, options)).sent, 1);
    assert.deepEqual(await folder.send(apps.sender, src, options), {
      sent: 0,
      failed: 0,
      unchanged: 0,
    });
    await book.close();
    await r.stopAfter(2);
    assert.deepEqual(await tree(out), { 'a.txt': 'a', 'b.txt': 'b' });
  });

  it('deletes or moves files once sent (a restart finishes what a crash left)', async () => {
    const { src, out } = await fresh();
    await write(src, { 'one.txt': '1', 'sub/two.txt': '2' });
    const r = await receiver(out);
    const done = join(src, '..', 'done');
    await write(done, { 'one.txt': 'already here' });
    const moved = await folder.send(apps.sender, src, { ch: CH, after: { move: done } });
    assert.equal(moved.sent, 2);
    assert.deepEqual(await tree(src), {});
    assert.deepEqual(await tree(done), {
      'one.txt': 'already here',
      'one (1).txt': '1',
      'sub/two.txt': '2',
    });
    await write(src, { 'three.txt': '3' });
    await folder.send(apps.sender, src, { ch: CH, after: 'delete' });
    assert.deepEqual(await tree(src), {});
    // Sent and journaled, then the process died before deleting: the next run deletes it, without sending.
    await write(src, { 'four.txt': '4' });
    await folder.send(apps.sender, src, { ch: CH });
    const finish = await folder.send(apps.sender, src, { ch: CH, after: 'delete' });
    assert.deepEqual(finish, { sent: 0, failed: 0, unchanged: 0 });
    assert.deepEqual(await tree(src), {});
    await r.stopAfter(4);
    assert.deepEqual(await tree(out), {
      'one.txt': '1',
      'sub/two.txt': '2',
      'three.txt': '3',
      'four.txt': '4',
    });
  });

  it('watching: sends a file once it stopped growing, and a .part file once renamed', async () => {
    const { src, out } = await fresh();
    const r = await receiver(out);
    const ac = new AbortController();
    const sentPaths: string[] = [];
    const watching = folder.send(apps.sender, src, {
      ch: CH,
      watch: true,
      pollMs: 50,
      settleMs: 1500, // far longer than the pauses between writes below, even on a busy machine
      signal: ac.signal,
      onEvent: (e) => e.type === 'sent' && sentPaths.push(e.path),
    });
    await writeFile(join(src, 'growing.log'), 'line 1\n');
    await writeFile(join(src, 'big.part'), 'incoming');
    for (let i = 2; i <= 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 60)); // longer than a scan, shorter than settling
      await appendFile(join(src, 'growing.log'), `line ${i}\n`);
    }
    await rename(join(src, 'big.part'), join(src, 'big.bin'));
    await waitFor(
      'both files sent',
      () => sentPaths.length >= 2,
      20_000,
      () => sentPaths.join(),
    );
    ac.abort();
    const summary = await within(watching, 5000, 'the watcher to stop');
    assert.equal(summary.sent, 2);
    await r.stopAfter(2);
    assert.deepEqual(await tree(out), {
      'growing.log': 'line 1\nline 2\nline 3\nline 4\nline 5\n',
      'big.bin': 'incoming',
    });
  });
});
