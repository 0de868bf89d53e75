/**
 * Folder transfer at scale, through simulators with seeded link faults: a
 * tree of 1,000 files from 0 B to 50 MiB arrives identical (tree hashes
 * compared) with the sender stopped and restarted in the middle (nothing
 * sent twice), and a file the link loses shows up in `reconcile`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { folder, ledger } from '../../src/apps/index.ts';
import { connect } from '../../src/index.ts';
import type { LinkOptions } from '../../src/sim/index.ts';
import { APP, startAppSim } from '../helpers/app-sim.ts';
import { waitFor, within } from '../helpers/deadline.ts';

const CH = 'tree';
const MiB = 1024 * 1024;
let base: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'ddmw-apps-tree-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Sizes of the 1,000 files: mostly small, some of a few MiB, one of 50 MiB, and empty ones. */
function sizeOf(i: number): number {
  if (i === 0) return 50 * MiB;
  if (i % 100 === 1) return (1 + (i % 5)) * MiB + i;
  if (i % 50 === 2) return 0;
  return (i * 7919) % (64 * 1024);
}

/** Writes `count` files of {@link sizeOf} in nested folders, each with content of its own. */
async function makeTree(root: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const dir = join(root, `d${i % 7}`, `e${i % 13}`);
    await mkdir(dir, { recursive: true });
    const content = Buffer.alloc(sizeOf(i), i % 251);
    if (content.length >= 4) content.writeUInt32BE(i, 0);
    await writeFile(join(dir, `file-${i}.bin`), content);
  }
}

/** Hash of a tree: every file's relative path and SHA-256, sorted (names starting `.ddmw` left out). */
async function treeHash(root: string): Promise<{ hash: string; files: number }> {
  const lines: string[] = [];
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || e.name.startsWith('.ddmw')) continue;
    const abs = join(e.parentPath, e.name);
    const sha = createHash('sha256')
      .update(await readFile(abs))
      .digest('hex');
    lines.push(`${abs.slice(root.length + 1)} ${sha}`);
  }
  lines.sort();
  return { hash: createHash('sha256').update(lines.join('\n')).digest('hex'), files: lines.length };
}

/** A simulator with `link`, a sender connection, and a folder receiver into `out`. */
async function setUp(link: LinkOptions, out: string, received: ledger.Ledger) {
  const apps = await startAppSim({ link });
  const { sim, sender } = apps;
  const sub = await apps.subscriber(CH);
  const ac = new AbortController();
  const events: folder.ReceiveEvent[] = [];
  const receiving = folder.receive(sub, out, {
    signal: ac.signal,
    ledger: received,
    onEvent: (e) => events.push(e),
  });
  const tearDown = async () => {
    ac.abort();
    await within(receiving, 10_000, 'the receiver to stop');
    await apps.close();
  };
  return { sim, sender, events, tearDown };
}

describe('folder transfer at scale', () => {
  it('1,000 files, 0 B to 50 MiB, over a link that duplicates and reorders frames, with a restart in the middle', async () => {
    const src = join(base, 'src');
    const out = join(base, 'out');
    await mkdir(out, { recursive: true });
    await makeTree(src, 1000);
    const sentLedger = await ledger.Ledger.open(join(base, 'sent.jsonl'));
    const receivedLedger = await ledger.Ledger.open(join(base, 'received.jsonl'));
    const link = { faults: { seed: 7, duplicate: 0.05, reorder: 0.05 } };
    const s = await setUp(link, out, receivedLedger);
    try {
      const ac = new AbortController();
      let sent = 0;
      const onEvent = (e: folder.FolderSendEvent) => {
        if (e.type === 'sent' && ++sent === 400) ac.abort();
      };
      const options = { ch: CH, ledger: sentLedger };
      await assert.rejects(folder.send(s.sender, src, { ...options, signal: ac.signal, onEvent }), {
        code: 'ABORTED',
      });
      // A new connection, as after a restart of the sending process.
      const again = await connect(s.sim.sender.msgif, { auth: APP });
      const rest = await folder.send(again, src, options).finally(() => again.close());
      assert.equal(rest.unchanged, 400);
      assert.equal(rest.sent, 600);
      const report = () => `${s.events.length} events, ${JSON.stringify(s.sim.stats())}`;
      await waitFor('1,000 files at the receiver', () => s.events.length >= 1000, 60_000, report);
    } finally {
      await s.tearDown();
      await sentLedger.close();
      await receivedLedger.close();
    }
    assert.deepEqual(
      s.events.filter((e) => e.type !== 'received' || e.file.renamed),
      [],
      'every file received once, under its own name',
    );
    assert.deepEqual(await treeHash(out), await treeHash(src));
    const r = await ledger.reconcile(join(base, 'sent.jsonl'), join(base, 'received.jsonl'));
    assert.equal(r.matched, 1000);
    assert.ok(ledger.isClean(r));
  });

  it('a file the link loses shows up in reconcile as missing', async () => {
    const src = join(base, 'lossy-src');
    const out = join(base, 'lossy-out');
    await mkdir(out, { recursive: true });
    await makeTree(src, 20);
    const sentPath = join(base, 'lossy-sent.jsonl');
    const receivedPath = join(base, 'lossy-received.jsonl');
    const sentLedger = await ledger.Ledger.open(sentPath);
    const receivedLedger = await ledger.Ledger.open(receivedPath);
    // The link loses every frame of its fifth transfer (the fifth file sent).
    const link = {
      fault: (d: { transfer: number }) => (d.transfer === 5 ? ('drop' as const) : undefined),
    };
    const s = await setUp(link, out, receivedLedger);
    let lost: string | undefined;
    let sentCount = 0;
    try {
      await folder.send(s.sender, src, {
        ch: CH,
        ledger: sentLedger,
        onEvent: (e) => {
          if (e.type === 'sent' && ++sentCount === 5) lost = e.path;
        },
      });
      await waitFor(
        '19 files at the receiver',
        () => s.events.length >= 19,
        30_000,
        () => `${s.events.length}`,
      );
    } finally {
      await s.tearDown();
      await sentLedger.close();
      await receivedLedger.close();
    }
    const r = await ledger.reconcile(sentPath, receivedPath);
    assert.deepEqual([r.sent, r.received, r.matched], [20, 19, 19]);
    assert.deepEqual(
      r.missing.map((e) => e.name),
      [lost],
    );
    assert.equal(ledger.isClean(r), false);
  });
});
