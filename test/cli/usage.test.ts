/**
 * `ddmw` given input it cannot use (files it cannot send, flags out of
 * range): one line naming it, with the command as typed, a usage exit
 * code, no stack trace, and nothing sent. And the terminal output of a send.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { TestChild } from '../helpers/child.ts';
import { ddmwArgs } from '../helpers/ddmw.ts';
import { startFakeServer } from '../helpers/fake-server.ts';
import { literal } from '../helpers/literal.ts';

/** Messages the sender node has seen, whatever became of them. */
const msgsSeen = () => {
  const s = sim.stats();
  return s.msgsAccepted + s.msgsRejected + s.msgsAborted;
};
let sim: Simulator;
let dir: string;
let conf: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-cli-send-'));
  sim = await startSimulator({ accounts: [{ name: 'app', pass: 'app-pass', perms: ['*'] }] });
  conf = join(dir, 'ddmwapp.toml');
  await writeFile(
    conf,
    `[auth]\nname = "app"\n[sender]\nmsgif = "${sim.sender.msgif}"\nmgmtif = "${sim.sender.mgmtif}"\n`,
  );
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `ddmw ...args` (with `script`, on a pseudo-terminal, when `tty`). */
async function ddmw(args: string[], tty = false, extraEnv: NodeJS.ProcessEnv = {}) {
  const env = { ...process.env, DDMW_PASS: 'app-pass', ...extraEnv };
  const command = [process.execPath, ...ddmwArgs('--config', conf, ...args)];
  const child = tty
    ? new TestChild(
        `ddmw ${args[0]} (terminal)`,
        'script',
        ['-qec', command.join(' '), '/dev/null'],
        env,
      )
    : new TestChild(`ddmw ${args[0]}`, process.execPath, command.slice(1), env);
  const exit = await child.exited();
  return { exit, out: `${child.stdout}${child.stderr}` };
}

/** Runs `ddmw send --ch 1 ...args`. */
function send(args: string[], tty = false) {
  return ddmw(['send', '--ch', '1', ...args], tty);
}

for (const [what, path] of [
  ['a folder', () => dir],
  ['a missing file', () => join(dir, 'missing.bin')],
] as const) {
  it(`${what}: one line naming it, exit 2, nothing sent`, async () => {
    const before = msgsSeen();
    const { exit, out } = await send([path()]);
    assert.deepEqual(exit, { code: 2, signal: null }, out);
    assert.match(out, new RegExp(`^ddmw send: Cannot send ${literal(path())}: `));
    assert.equal(out.trim().split('\n').length, 1, out);
    assert.equal(msgsSeen(), before);
  });
}

it('no file on a terminal: a usage error, nothing sent (standard input is not read)', async () => {
  const { exit, out } = await send([], true);
  assert.deepEqual(exit, { code: 2, signal: null }, out);
  assert.match(out, /Nothing to send: give a file, - for standard input, --text, or --meta/);
});

it('on a terminal, a small file shows its size in bytes, and the progress line is erased before the result', async () => {
  const file = join(dir, 'small.txt');
  await writeFile(file, 'fourteen bytes');
  const { exit, out } = await send([file], true);
  assert.deepEqual(exit, { code: 0, signal: null }, out);
  assert.match(out, /14 B/);
  assert.doesNotMatch(out, /0\.0\/0\.0 MiB/);
  const afterErase = out.slice(out.lastIndexOf('\x1b[K') + 3);
  assert.match(afterErase, /^\r?\n?sent on channel 1 as \S+\r?\n$/);
});

for (const [args, message] of [
  [
    ['send', '--ch', '1', '--text', 'x', '--cmd', 'abc'],
    /^ddmw send: --cmd must be a whole number from 0 to 4294967295, got "abc"$/,
  ],
  [
    ['send', '--ch', '-1', '--text', 'x'],
    /^ddmw send: Invalid channel "-1": channel numbers are integers from 0 to 255/,
  ],
  [['send', '--ch', '300', '--text', 'x'], /^ddmw send: Invalid channel "300"/],
  [['acc', 'wr', 'app'], /^ddmw acc wr: /],
] as const) {
  it(`ddmw ${args.join(' ')}: exit 2, ${message}`, async () => {
    const { exit, out } = await ddmw([...args]);
    assert.deepEqual(exit, { code: 2, signal: null }, out);
    assert.match(out.trim(), message);
  });
}

it('acc wr --grant of a permission the simulator does not know: granted, with a warning', async () => {
  const { exit, out } = await ddmw(['acc', 'wr', 'app', '--grant', 'bogusperm,send:7']);
  assert.deepEqual(exit, { code: 0, signal: null }, out);
  assert.match(out, /ddmw acc wr: warning: "bogusperm" is not a permission the simulator knows/);
  assert.doesNotMatch(out, /"send:7" is not/);
  const rd = await ddmw(['--json', 'acc', 'rd', 'app']);
  assert.ok(JSON.parse(rd.out).perms.includes('bogusperm'), rd.out);
});

it('a config file named but missing: exit 2 naming it; a misspelt key: a warning naming file, line and the key meant', async () => {
  const missing = await ddmw(['--config', join(dir, 'nosuch.toml'), 'whoami']);
  assert.deepEqual(missing.exit, { code: 2, signal: null }, missing.out);
  assert.match(missing.out, /Config file .*nosuch\.toml does not exist/);
  const typo = join(dir, 'typo.toml');
  await writeFile(
    typo,
    `[auth]\nname = "app"\n[sender]\nmgmt-if = "x"\nmgmtif = "${sim.sender.mgmtif}"\n`,
  );
  const warned = await ddmw(['--config', typo, 'whoami']);
  assert.deepEqual(warned.exit, { code: 0, signal: null }, warned.out);
  assert.match(
    warned.out,
    /ddmw whoami: warning: .*typo\.toml:4: unknown key "mgmt-if" in \[sender\], ignored \(did you mean "mgmtif"\?\)/,
  );
});

it('wrong credentials: exit 2, saying the node refused them, the reason once', async () => {
  const { exit, out } = await ddmw(['whoami'], false, { DDMW_PASS: 'wrong-pass' });
  assert.deepEqual(exit, { code: 2, signal: null }, out);
  assert.match(
    out,
    /^ddmw whoami: The node refused the credentials of account app: Server replied Fail: \S/,
  );
  assert.doesNotMatch(out, /Reason=/);
});

it('a passphrase file others can read and --token on the command line are warned about', async () => {
  const passFile = join(dir, 'pass');
  await writeFile(passFile, 'app-pass\n');
  await chmod(passFile, 0o644);
  const shared = await ddmw(['--pass-file', passFile, 'whoami'], false, { DDMW_PASS: undefined });
  assert.deepEqual(shared.exit, { code: 0, signal: null }, shared.out);
  assert.match(
    shared.out,
    /warning: .*pass holds a secret but other users can access it \(mode 0644\); chmod 600 it/,
  );
  const token = await ddmw(['--token', 'not-a-token', 'whoami']);
  assert.match(
    token.out,
    /warning: --token shows in the process list; prefer DDMW_TOKEN or --token-file/,
  );
});

it('a peer that does not speak DDMW (an HTTP server): the error says the address may be wrong', async () => {
  const http = await startFakeServer(({ socket }) => {
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n<!DOCTYPE HTML>\n\n');
  });
  try {
    const { exit, out } = await ddmw(['probe', '--addr', http.addr, '--node', 'sender']);
    assert.equal(exit.code, 3, out);
    assert.match(out, /is the address a DDMW client interface\?/);
  } finally {
    await http.close();
  }
});

it('a --config that is a folder, and a missing --meta-file: usage errors (exit 2), nothing sent', async () => {
  const folder = await ddmw(['--config', dir, 'whoami']);
  assert.deepEqual(folder.exit, { code: 2, signal: null }, folder.out);
  assert.match(folder.out, /Cannot read config file/);
  const before = msgsSeen();
  const meta = await send(['--text', 'x', '--meta-file', join(dir, 'no-meta')]);
  assert.deepEqual(meta.exit, { code: 2, signal: null }, meta.out);
  assert.match(meta.out, /Cannot send --meta-file .*no-meta/);
  assert.equal(msgsSeen(), before);
});
