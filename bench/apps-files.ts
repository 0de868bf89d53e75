/**
 * File and folder transfer figures (apps/files, apps/folder), end to end
 * through a fresh simulator each run, against the library's own messages
 * carrying the same files the same way, in the same run:
 * - `apps.folder.10000x4KiB`: files per second of a folder of 10,000 files
 *   of 4 KiB sent with `folder.send` and stored with `folder.receive`
 *   (metadata, hashes, folders, partial files and renames) vs `msg.send`
 *   of each file as a plain message stored by `recv` into a file;
 * - `apps.file.1GiB`: MiB/s of one 1 GiB file with `file.send` (read twice:
 *   hashed, then sent) and `file.receive` (hashed as written) vs `msg.send`
 *   of the same file and `recv` into a file.
 * Outputs of a run are removed before the next clock starts (see
 * msg-recv.ts for why), sources are written once.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { file, folder } from '../src/apps/index.ts';
import type { Connection } from '../src/conn/index.ts';
import { recv, send, subscribe } from '../src/msg/index.ts';
import { transferDeadlineMs } from './deadline.ts';
import { bestOfPaired, figure, type Measurement } from './figures.ts';
import { MiB, mibPerSec } from './raw.ts';
import { withSim } from './with-sim.ts';

const FILES = 10_000;
const SMALL = 4 * 1024;
const BIG = 1024 * MiB;
/** Runs of the 10,000 files (each takes seconds) and of the 1 GiB file, and of their baselines. */
const TREE_RUNS = 1;
const BIG_RUNS = 2;

/** Writes FILES files of SMALL bytes in 100 folders; returns their relative paths. */
async function smallTree(root: string): Promise<string[]> {
  const paths: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const path = `d${i % 100}/f${i}`;
    if (i < 100) await mkdir(join(root, `d${i}`), { recursive: true });
    const content = Buffer.alloc(SMALL, i % 251);
    content.writeUInt32BE(i, 0);
    await writeFile(join(root, path), content);
    paths.push(path);
  }
  return paths;
}

/** Writes a BIG file in 16 MiB pieces. */
async function bigFile(path: string): Promise<void> {
  const piece = Buffer.alloc(16 * MiB, 0x6b);
  await writeFile(
    path,
    (async function* () {
      for (let at = 0; at < BIG; at += piece.length) yield piece;
    })(),
  );
}

/**
 * A run of `count` files (the 1 GiB file or the small ones) against a fresh
 * simulator: `transfer` gets a sender connection and a subscribed one, with
 * `out` emptied, and resolves once every file is stored; seconds it took.
 */
function timedRun(
  count: number,
  out: string,
  what: () => string,
  transfer: (sender: Connection, sub: Connection) => Promise<void>,
): Promise<number> {
  const bytes = count === 1 ? BIG : count * SMALL;
  // Each file costs round trips and file system work whatever its size: 10 ms more each.
  const run = { deadlineMs: transferDeadlineMs(bytes) + count * 10, what, arrival: true };
  return withSim(run, async (sim, { connect }) => {
    const sender = await connect(sim.sender.msgif);
    const sub = await connect(sim.receiver.subif);
    await subscribe(sub, 'bench');
    await rm(out, { recursive: true, force: true });
    await mkdir(out);
    const start = performance.now();
    await transfer(sender, sub);
    return (performance.now() - start) / 1000;
  });
}

/** The apps' side: `folder.send` (or `file.send` of one file) of `src` and `folder.receive` into `out`. */
function appsRun(src: string, out: string, count: number, journal: string): Promise<number> {
  let received = 0;
  const what = () => `${count} files through folder transfer (${received} stored)`;
  return timedRun(count, out, what, async (sender, sub) => {
    await rm(journal, { force: true });
    const receiving = folder.receive(sub, out, {
      count,
      onEvent: (e) => {
        if (e.type === 'received') received++;
        else throw new Error(`a file was ${e.type}: ${e.error.message}`);
      },
    });
    receiving.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
    if (count === 1) await file.send(sender, src, { ch: 'bench' });
    else await folder.send(sender, src, { ch: 'bench', journal });
    const summary = await receiving;
    if (summary.received !== count) throw new Error(`${what()}: ${JSON.stringify(summary)}`);
  });
}

/** The library's side: each file sent as a plain message and received into a file. */
function msgRun(srcs: string[], out: string): Promise<number> {
  let received = 0;
  const what = () => `${srcs.length} files as messages (${received} stored)`;
  return timedRun(srcs.length, out, what, async (sender, sub) => {
    const receiving = (async () => {
      for (; received < srcs.length; received++) {
        const target = join(out, `m${received}`);
        await recv(sub, { storeq: () => ({ payload: { file: target } }) });
      }
    })();
    receiving.catch(() => {});
    for (const src of srcs) await send(sender, { ch: 'bench', payload: { file: src } });
    await receiving;
  });
}

export const appsFilesMeasurement: Measurement = {
  figures: ['apps.folder.10000x4KiB', 'apps.file.1GiB'],
  async measure() {
    const dir = await mkdtemp(join(tmpdir(), 'ddmw-bench-apps-'));
    try {
      const tree = join(dir, 'tree');
      const paths = (await smallTree(tree)).map((p) => join(tree, p));
      const out = join(dir, 'out');
      const journal = join(dir, 'journal');
      const small = await bestOfPaired(
        TREE_RUNS,
        async () => FILES / (await appsRun(tree, out, FILES, journal)),
        async () => FILES / (await msgRun(paths, out)),
      );
      await rm(tree, { recursive: true, force: true });
      const big = join(dir, 'big.bin');
      await bigFile(big);
      const large = await bestOfPaired(
        BIG_RUNS,
        async () => mibPerSec(BIG, (await appsRun(big, out, 1, journal)) * 1000),
        async () => mibPerSec(BIG, (await msgRun([big], out)) * 1000),
      );
      return [
        figure('apps.folder.10000x4KiB', 'files/s', small.value, {
          value: small.baseline,
          name: 'msg.send + recv of each file',
        }),
        figure('apps.file.1GiB', 'MiB/s', large.value, {
          value: large.baseline,
          name: 'msg.send + recv of the file',
        }),
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
