/** The `ddmw` command line tool, run as a process against a simulator started here. */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';

let sim: Simulator;
let dir: string;
let conf: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs ddmw (with `input` on its standard input, if given). A child still
 * running after 30 s is killed, and that is a failure saying so, never an
 * exit code.
 */
function run(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', '--config', conf, ...args],
      { env: { ...process.env, DDMW_PASS: 'cli-pass' }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const failure = err as { code?: unknown; killed?: boolean; signal?: string } | null;
        if (failure && (failure.killed || typeof failure.code !== 'number')) {
          reject(new Error(`ddmw ${args.join(' ')} did not exit by itself within 30 s\n${stderr}`));
          return;
        }
        resolve({ code: (failure?.code as number | undefined) ?? 0, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

const ddmw = (...args: string[]) => run(args);
/** Runs ddmw with `input` on its standard input. */
const ddmwWithInput = (input: string, ...args: string[]) => run(args, input);

/** The child's exit code, also when it has already exited. */
function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', resolve));
}

/** Waits until a `recv` child says it subscribed; fails (rather than hangs) if it exits first. */
function subscribedOrExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('subscribed')) resolve();
    });
    child.on('exit', (code) =>
      reject(new Error(`recv exited (${code}) before subscribing: ${err}`)),
    );
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-cli-'));
  sim = await startSimulator({
    accounts: [
      { name: 'cli', pass: 'cli-pass', perms: ['*'] },
      { name: 'other', pass: 'other-pass' },
    ],
  });
  conf = join(dir, 'ddmwapp.toml');
  await writeFile(
    conf,
    `channel = "cli"\n[auth]\nname = "cli"\n[sender]\nmsgif = "${sim.sender.msgif}"\nmgmtif = "${sim.sender.mgmtif}"\n[receiver]\nsubif = "${sim.receiver.subif}"\nmgmtif = "${sim.receiver.mgmtif}"\n`,
  );
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ddmw', () => {
  it('probe and whoami, human and JSON', async () => {
    const probe = await ddmw('probe', '--node', 'receiver');
    assert.equal(probe.code, 0, probe.stderr);
    assert.match(probe.stdout, /^receiver node, DDMW/);
    const who = await ddmw('--json', 'whoami');
    assert.equal(who.code, 0, who.stderr);
    assert.equal(JSON.parse(who.stdout).name, 'cli');
  });

  it('send and recv write a payload file and a JSON sidecar', async () => {
    const out = join(dir, 'in');
    const recv = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        '--config',
        conf,
        'recv',
        '--out',
        out,
        '--count',
        '3',
      ],
      {
        env: { ...process.env, DDMW_PASS: 'cli-pass' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    await subscribedOrExit(recv);
    const file = join(dir, 'data.bin');
    await writeFile(file, Buffer.alloc(100_000, 7));
    const sent = await ddmw('--json', 'send', file, '--cmd', '9', '--meta', 'name=data.bin');
    assert.equal(sent.code, 0, sent.stderr);
    const text = await ddmw('send', '--text', 'hello');
    assert.equal(text.code, 0, text.stderr);
    const piped = await ddmwWithInput('from stdin\n', '--json', 'send', '-');
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(await exitCode(recv), 0);
    const files = (await readdir(out)).sort();
    assert.equal(files.length, 7, files.join(', ')); // three payloads and sidecars, one metadata file
    const pipedId = JSON.parse(piped.stdout).xferId;
    assert.equal(await readFile(join(out, `${pipedId}.payload`), 'utf8'), 'from stdin\n');
    const id = JSON.parse(sent.stdout).xferId;
    const sidecar = JSON.parse(await readFile(join(out, `${id}.json`), 'utf8'));
    assert.deepEqual(
      [sidecar.cmd, sidecar.meta, sidecar.payloadLen],
      [9, { name: 'data.bin' }, 100_000],
    );
    assert.deepEqual(await readFile(join(out, `${id}.payload`)), await readFile(file));
  });

  it('acc ls, rd, wr, rm', async () => {
    const ls = await ddmw('--json', 'acc', 'ls');
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(
      JSON.parse(ls.stdout)
        .map((e: { name: string }) => e.name)
        .sort(),
      ['cli', 'other'],
    );
    assert.equal(
      (await ddmw('acc', 'wr', 'other', '--grant', 'send', '--user-name', 'Olga')).code,
      0,
    );
    const rd = await ddmw('--json', 'acc', 'rd', 'other');
    assert.deepEqual(JSON.parse(rd.stdout).perms, ['send']);
    assert.equal((await ddmw('acc', 'rm', 'other')).code, 0);
    assert.equal((await ddmw('acc', 'rd', 'other')).code, 1);
  });

  it('stream send and stream recv', async () => {
    const prefix = join(dir, 'stream-out');
    const recv = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', '--config', conf, 'stream', 'recv', '--out', prefix],
      { env: { ...process.env, DDMW_PASS: 'cli-pass' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await subscribedOrExit(recv);
    const file = join(dir, 'stream.bin');
    await writeFile(file, Buffer.alloc(3_000_000, 3));
    const sent = await ddmw('--json', 'stream', 'send', file);
    assert.equal(sent.code, 0, sent.stderr);
    const { xferId, length } = JSON.parse(sent.stdout);
    assert.equal(length, 3_000_000);
    assert.equal(await exitCode(recv), 0);
    assert.deepEqual(await readFile(`${prefix}.${xferId}`), await readFile(file));
  });

  it('exit codes: 2 usage, 3 connection, 1 refused', async () => {
    const usage = await ddmw('send', '--ch', '300', '--text', 'x');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^ddmw send: Invalid channel "300"/);
    const badMeta = await ddmw('send', '--text', 'x', '--meta', 'note=two\nlines');
    assert.equal(badMeta.code, 2, badMeta.stderr);
    assert.match(badMeta.stderr, /--meta note: .*line/);
    assert.equal((await ddmw('probe', '--addr', '127.0.0.1:1')).code, 3);
    // Credentials the node refuses are a usage error (the --help table lists them under 2).
    assert.equal((await ddmw('--name', 'nobody', 'whoami')).code, 2);
    const refused = await ddmw('acc', 'rd', 'no-such-account');
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^ddmw acc rd: Server replied Fail: /);
    assert.equal((await ddmw('no-such-command')).code, 2);
  });
});
