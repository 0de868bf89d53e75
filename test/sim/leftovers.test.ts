/**
 * What a killed simulator leaves behind (temporary state files holding
 * scrypt hashes, spool folders) is removed when the next one starts, if
 * its process is gone and it is an hour old; what belongs to a live
 * process, is recent, is not named like ours, or is a symbolic link is
 * left alone. A running simulator keeps its spool folder recent.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSimulator } from '../../src/sim/index.ts';
import { LEFTOVER_AGE_MS } from '../../src/sim/leftovers.ts';
import { SPOOL_TOUCH_MS, Spool } from '../../src/sim/node/spool.ts';
import { waitForAsync, within } from '../helpers/deadline.ts';

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await within(once(child, 'exit'), 10_000, 'a short-lived child process to exit');
  const pid = child.pid;
  assert.ok(pid !== undefined);
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is free`);
  return pid;
}

/** Sets the modification time of each path (not following links) `ms` in the past. */
async function age(ms: number, ...paths: string[]): Promise<void> {
  const then = new Date(Date.now() - ms);
  for (const path of paths) await lutimes(path, then, then);
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

let root: string;
/** Stands for the system's temporary folder, where spool folders go. */
let temp: string;
const savedTmpdir = process.env.TMPDIR;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ddmw-leftovers-'));
  temp = join(root, 'tmp');
  await mkdir(temp);
  process.env.TMPDIR = temp; // os.tmpdir() reads it on every call
});
after(async () => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  await rm(root, { recursive: true, force: true });
});

describe('at start, a simulator', () => {
  it('removes the spool folders and temporary state files of dead simulators, and nothing else', async () => {
    const dead = await deadPid();
    const live = process.ppid; // stands for another simulator that is running
    const spool = (pid: number, suffix: string) => join(temp, `ddmw-sim-spool-${pid}-${suffix}`);
    const orphan = spool(dead, 'aB3dE9');
    await mkdir(join(orphan, 'sub'), { recursive: true });
    await writeFile(join(orphan, 'sub', 'spooled'), 'x');
    const liveSpool = spool(live, 'aB3dE9');
    await mkdir(liveSpool);
    await writeFile(join(liveSpool, 'spooled'), 'x');
    // A link named like an orphan: never followed, never removed.
    const outside = join(root, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'precious'), 'x');
    const link = spool(dead, 'LiNk00');
    await symlink(outside, link);
    const plainFile = spool(dead, 'FiLe00');
    await writeFile(plainFile, 'x');
    const otherName = join(temp, `ddmw-sim-spool-${dead}`);
    await mkdir(otherName);
    // Named like an orphan, but modified within the hour: perhaps a simulator in another pid namespace.
    const recent = spool(dead, 'ReCeNt');
    await mkdir(recent);

    const stateDir = join(root, 'state');
    await mkdir(stateDir);
    const stateFile = join(stateDir, 'accounts.json');
    const staleTemp = `${stateFile}.${dead}.0123456789ab.tmp`;
    const liveTemp = `${stateFile}.${live}.0123456789ab.tmp`;
    const otherTemp = join(stateDir, `other.json.${dead}.0123456789ab.tmp`);
    const recentTemp = `${stateFile}.${dead}.ba9876543210.tmp`;
    for (const file of [staleTemp, liveTemp, otherTemp, recentTemp]) {
      await writeFile(file, '{"scrypt": "hashes"}', { mode: 0o600 });
    }
    const old = LEFTOVER_AGE_MS + 60_000;
    await age(old, orphan, liveSpool, link, plainFile, otherName, staleTemp, liveTemp, otherTemp);
    await age(LEFTOVER_AGE_MS - 60_000, recent, recentTemp);

    const log: string[] = [];
    const sim = await startSimulator({
      accounts: [{ name: 'a', pass: 'p' }],
      stateFile,
      log: (line) => log.push(line),
    });
    try {
      assert.equal(await exists(orphan), false, 'the dead simulator spool folder is removed');
      assert.equal(await exists(staleTemp), false, 'its temporary state file is removed');
      const spools = [liveSpool, join(liveSpool, 'spooled'), link, plainFile, otherName, recent];
      for (const kept of spools) {
        assert.ok(await exists(kept), `${kept} is kept`);
      }
      assert.ok(await exists(join(outside, 'precious')), 'the link is not followed');
      assert.ok(await exists(liveTemp), "a live simulator's temporary state file is kept");
      assert.ok(await exists(otherTemp), "another file's temporary file is kept");
      assert.ok(await exists(recentTemp), 'a temporary state file from within the hour is kept');
      assert.ok(log.includes(`removed the spool folder of a simulator that is gone: ${orphan}`));
      assert.ok(
        log.includes(`removed a temporary state file of a simulator that is gone: ${staleTemp}`),
      );
      // Its own spool folder carries its pid, so that the next start can tell.
      const own = log.find((line) => line.startsWith('spool folder '))?.slice(13) ?? '';
      assert.match(own, new RegExp(`/ddmw-sim-spool-${process.pid}-[A-Za-z0-9]{6}$`));
      assert.ok(await exists(own));
    } finally {
      await sim.close();
    }
    // (tsx, when the tests run from source, keeps its cache there too.)
    const left = (await readdir(temp)).filter((name) => name.startsWith('ddmw-sim-spool-')).sort();
    assert.deepEqual(
      left,
      [liveSpool, link, plainFile, otherName, recent].map((p) => p.slice(temp.length + 1)).sort(),
      'its own spool folder is gone after close',
    );
  });

  it('keeps its own spool folder recent while it runs', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const spool = await Spool.create(undefined);
    try {
      const old = LEFTOVER_AGE_MS + 60_000;
      await utimes(spool.dir, new Date(Date.now() - old), new Date(Date.now() - old));
      t.mock.timers.tick(SPOOL_TOUCH_MS);
      const mtime = async () => (await stat(spool.dir)).mtimeMs;
      await waitForAsync(
        'the spool folder touched',
        async () => Date.now() - (await mtime()) < LEFTOVER_AGE_MS,
        10_000,
      );
    } finally {
      await spool.close();
    }
  });
});
