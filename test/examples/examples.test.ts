/**
 * Runs the programs in examples/ as separate processes against a simulator
 * started here, configured through a ddmwapp.toml in a temporary folder.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';

const APP = { name: 'example-app', pass: 'example-pass' };
let sim: Simulator;
let dir: string;
let conf: string;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** `p`, or a rejection saying `failure()` if it has not settled within `ms`. */
function deadline<T>(p: Promise<T>, ms: number, failure: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(failure())), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Examples still running: killed after each test, so that a failed test leaves none behind. */
const running = new Set<ChildProcess>();

/** A running example, with its output so far. */
interface Run {
  child: ChildProcess;
  output: () => string;
  /** Resolves once the output contains `text`; rejects if the example exits first, or after `ms`. */
  waitFor: (text: string, ms?: number) => Promise<void>;
  /** Its exit code, once its output is complete; rejects (and kills it) after the time limit of `run`. */
  exit: Promise<number | null>;
}

function run(
  example: string,
  args: string[] = [],
  options: { env?: Record<string, string>; limitMs?: number } = {},
): Run {
  const limitMs = options.limitMs ?? 30_000;
  const child = spawn(process.execPath, ['--import', 'tsx', join('examples', example), ...args], {
    env: { ...process.env, DDMW_APPCONF: conf, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  const onOutput = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const f of onOutput) f();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  // 'close', not 'exit': by then all of its output has been read.
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  closed.then(() => running.delete(child));
  const exit = deadline(closed, limitMs, () => {
    child.kill('SIGKILL');
    return `${example} did not exit within ${limitMs} ms (killed); its output:\n${out}`;
  });
  exit.catch(() => {}); // a test that awaits it still sees the rejection
  const waitFor = (text: string, ms = 30_000) =>
    deadline(
      new Promise<void>((resolve, reject) => {
        const check = () => out.includes(text) && resolve();
        onOutput.add(check);
        check();
        closed.then((code) => {
          check();
          reject(new Error(`${example} exited (${code}) without printing "${text}":\n${out}`));
        });
      }),
      ms,
      () => `${example} did not print "${text}" within ${ms} ms; its output so far:\n${out}`,
    );
  return { child, output: () => out, exit, waitFor };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-examples-'));
  const pushPort = await freePort();
  sim = await startSimulator({
    accounts: [
      { ...APP, perms: ['*'] },
      { name: 'reader', pass: 'reader-pass' },
    ],
    push: [{ ch: 'pushed', addr: `127.0.0.1:${pushPort}` }],
  });
  conf = join(dir, 'ddmwapp.toml');
  await writeFile(
    conf,
    [
      'channel = "examples"',
      '[auth]',
      `name = "${APP.name}"`,
      `pass = "${APP.pass}"`,
      '[sender]',
      `msgif = "${sim.sender.msgif}"`,
      `mgmtif = "${sim.sender.mgmtif}"`,
      '[receiver]',
      `subif = "${sim.receiver.subif}"`,
      `mgmtif = "${sim.receiver.mgmtif}"`,
      'sub-retries = 3',
      'sub-retry-delay = "200ms"',
      `push-listenif = "127.0.0.1:${pushPort}"`,
    ].join('\n'),
  );
});
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

describe('examples', () => {
  it('send.ts and receive-loop.ts', async () => {
    const receiver = run('receive-loop.ts', ['2']);
    await receiver.waitFor('subscribed');
    const file = join(dir, 'hello.txt');
    await writeFile(file, 'hello from a file');
    for (const args of [[], [file]]) {
      const sender = run('send.ts', args);
      assert.equal(await sender.exit, 0, sender.output());
      assert.match(sender.output(), /sent /);
    }
    assert.equal(await receiver.exit, 0, receiver.output());
    assert.match(receiver.output(), /greeting\.txt/);
    assert.match(receiver.output(), /17 bytes \(hello\.txt\)/);
    assert.match(receiver.output(), /received 2 message/);
  });

  it('subscription.ts', async () => {
    const receiver = run('subscription.ts', ['1']);
    await receiver.waitFor('subscription: subscribed');
    const sender = run('send.ts');
    assert.equal(await sender.exit, 0, sender.output());
    assert.equal(await receiver.exit, 0, receiver.output());
    assert.match(receiver.output(), /Hello from examples\/send\.ts/);
  });

  it('push-receiver.ts', async () => {
    const receiver = run('push-receiver.ts', ['1']);
    await receiver.waitFor('listening for pushes');
    const pushConf = join(dir, 'push.toml');
    await writeFile(
      pushConf,
      (await readFile(conf, 'utf8')).replace('channel = "examples"', 'channel = "pushed"'),
    );
    const sender = run('send.ts', [], { env: { DDMW_APPCONF: pushConf } });
    assert.equal(await sender.exit, 0, sender.output());
    assert.equal(await receiver.exit, 0, receiver.output());
    assert.match(receiver.output(), /pushed .* on channel pushed/);
  });

  it('account-admin.ts', async () => {
    const admin = run('account-admin.ts', ['reader', 'subscribe']);
    assert.equal(await admin.exit, 0, admin.output());
    assert.match(admin.output(), /account \d+: reader/);
    assert.match(admin.output(), /reader: \(no permissions\)/);
    assert.match(admin.output(), /reader: subscribe/);
  });

  it('stream.ts', async () => {
    const streamer = run('stream.ts', ['500']);
    assert.equal(await streamer.exit, 0, streamer.output());
    const m = /wrote (\d+) bytes, received (\d+) bytes/.exec(streamer.output());
    assert.ok(m && m[1] === m[2] && Number(m[1]) > 0, streamer.output());
  });
});

describe('demo.ts', () => {
  /** Runs the demo with its temporary folder made in a new folder of our own, to see what it leaves. */
  async function runDemo(env: Record<string, string> = {}, limitMs?: number) {
    const tmp = await mkdtemp(join(dir, 'demo-tmp-'));
    const demo = run('demo.ts', [], { env: { DDMW_DEMO_TMPDIR: tmp, ...env }, limitMs });
    /** Checks, once it exited, that it made its temporary folder in `tmp` and removed it. */
    const assertCleanedUp = async () => {
      const made = /temporary files in (.+)/.exec(demo.output())?.[1] ?? '';
      assert.ok(made.startsWith(join(tmp, 'ddmw-demo-')), demo.output());
      await assert.rejects(stat(made), { code: 'ENOENT' }, `${made} is still there`);
      assert.deepEqual(await readdir(tmp), [], demo.output());
    };
    return { demo, assertCleanedUp };
  }

  it('sends, receives and verifies everything, and cleans up', async () => {
    // The demo's own limit is 120 s; it then takes at most a few seconds to clean up.
    const { demo, assertCleanedUp } = await runDemo({}, 150_000);
    assert.equal(await demo.exit, 0, demo.output());
    assert.match(demo.output(), /all messages crossed the one-way link and verified/);
    await assertCleanedUp();
  });

  it('at its time limit says what did not arrive, exits 1 and cleans up', async () => {
    const { demo, assertCleanedUp } = await runDemo({ DDMW_DEMO_TIMEOUT_MS: '1' });
    assert.equal(await demo.exit, 1, demo.output());
    assert.match(
      demo.output(),
      /demo failed: waiting for the simulator to start: the demo's time limit of 1 ms ran out/,
    );
    assert.match(demo.output(), /did not arrive: .*64 MiB file \(67,108,864 bytes\), not sent/);
    await assertCleanedUp();
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`on ${signal} stops, exits ${code} and cleans up`, async () => {
      const { demo, assertCleanedUp } = await runDemo();
      await demo.waitFor('subscribed to channel');
      demo.child.kill(signal);
      assert.equal(await demo.exit, code, demo.output());
      assert.match(demo.output(), new RegExp(`interrupted by ${signal}`));
      await assertCleanedUp();
    });
  }
});
