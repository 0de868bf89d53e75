/** The `ddmw` command line tool, run as a process against a simulator started here. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { killedAfterEach, TestChild } from '../helpers/child.ts';
import { ddmwArgs } from '../helpers/ddmw.ts';

let sim: Simulator;
let dir: string;
let conf: string;

/** Kills the `recv` children a failed test leaves running. */
const track = killedAfterEach();

/** Starts ddmw (with `input` on its standard input, if given). */
function start(args: string[], input?: string): TestChild {
  const env = { ...process.env, DDMW_PASS: 'cli-pass' };
  const command = ddmwArgs('--config', conf, ...args);
  return new TestChild(`ddmw ${args.join(' ')}`, process.execPath, command, env, { input });
}

/**
 * Runs ddmw (with `input` on its standard input, if given) to its exit. A
 * child still running after 30 s is killed, and that is a failure saying
 * so, never an exit code.
 */
async function run(args: string[], input?: string) {
  const child = start(args, input);
  const code = await child.exitCode();
  return { code, stdout: child.stdout, stderr: child.stderr };
}

const ddmw = (...args: string[]) => run(args);
/** Runs ddmw with `input` on its standard input. */
const ddmwWithInput = (input: string, ...args: string[]) => run(args, input);

/** Starts a `recv` child and waits until it says it subscribed. */
async function subscribed(...args: string[]): Promise<TestChild> {
  const recv = track(start(args));
  await recv.waitFor('stderr', /subscribed/, 'the subscription');
  return recv;
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
    const recv = await subscribed('recv', '--out', out, '--count', '3');
    const file = join(dir, 'data.bin');
    await writeFile(file, Buffer.alloc(100_000, 7));
    const sent = await ddmw('--json', 'send', file, '--cmd', '9', '--meta', 'name=data.bin');
    assert.equal(sent.code, 0, sent.stderr);
    const text = await ddmw('send', '--text', 'hello');
    assert.equal(text.code, 0, text.stderr);
    const piped = await ddmwWithInput('from stdin\n', '--json', 'send', '-');
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(await recv.exitCode(), 0, recv.stderr);
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
    const recv = await subscribed('stream', 'recv', '--out', prefix);
    const file = join(dir, 'stream.bin');
    await writeFile(file, Buffer.alloc(3_000_000, 3));
    const sent = await ddmw('--json', 'stream', 'send', file);
    assert.equal(sent.code, 0, sent.stderr);
    const { xferId, length } = JSON.parse(sent.stdout);
    assert.equal(length, 3_000_000);
    assert.equal(await recv.exitCode(), 0, recv.stderr);
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
