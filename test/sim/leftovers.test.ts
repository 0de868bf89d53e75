/**
 * What a killed simulator leaves behind (temporary state files holding
 * scrypt hashes, spool folders) is removed when the next one starts, if
 * its process is gone; what belongs to a live process, is not named like
 * ours, or is a symbolic link is left alone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSimulator } from '../../src/sim/index.ts';
import { within } from '../helpers/deadline.ts';

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await within(once(child, 'exit'), 10_000, 'a short-lived child process to exit');
  const pid = child.pid;
  assert.ok(pid !== undefined);
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is free`);
  return pid;
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

    const stateDir = join(root, 'state');
    await mkdir(stateDir);
    const stateFile = join(stateDir, 'accounts.json');
    const staleTemp = `${stateFile}.${dead}.0123456789ab.tmp`;
    const liveTemp = `${stateFile}.${live}.0123456789ab.tmp`;
    const otherTemp = join(stateDir, `other.json.${dead}.0123456789ab.tmp`);
    for (const file of [staleTemp, liveTemp, otherTemp]) {
      await writeFile(file, '{"scrypt": "hashes"}', { mode: 0o600 });
    }

    const log: string[] = [];
    const sim = await startSimulator({
      accounts: [{ name: 'a', pass: 'p' }],
      stateFile,
      log: (line) => log.push(line),
    });
    try {
      assert.equal(await exists(orphan), false, 'the dead simulator spool folder is removed');
      assert.equal(await exists(staleTemp), false, 'its temporary state file is removed');
      for (const kept of [liveSpool, join(liveSpool, 'spooled'), link, plainFile, otherName]) {
        assert.ok(await exists(kept), `${kept} is kept`);
      }
      assert.ok(await exists(join(outside, 'precious')), 'the link is not followed');
      assert.ok(await exists(liveTemp), "a live simulator's temporary state file is kept");
      assert.ok(await exists(otherTemp), "another file's temporary file is kept");
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
      [liveSpool, link, plainFile, otherName].map((p) => p.slice(temp.length + 1)).sort(),
      'its own spool folder is gone after close',
    );
  });
});
