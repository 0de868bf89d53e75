/**
 * Runs the programs in examples/ as separate processes against a simulator
 * started here, configured through a ddmwapp.toml in a temporary folder.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { killedAfterEach, TestChild } from '../helpers/child.ts';
import { freePort } from '../helpers/free-port.ts';

const APP = { name: 'example-app', pass: 'example-pass' };
let sim: Simulator;
let dir: string;
let conf: string;

/** Kills the examples a test leaves running, so that a failed test leaves none behind. */
const track = killedAfterEach();

/** Starts an example, configured through `conf` (or `env`). */
function run(example: string, args: string[] = [], env: Record<string, string> = {}): TestChild {
  return track(
    new TestChild(
      example,
      process.execPath,
      ['--import', 'tsx', join('examples', example), ...args],
      { ...process.env, DDMW_APPCONF: conf, ...env },
    ),
  );
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
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

describe('examples', () => {
  it('send.ts and receive-loop.ts', async () => {
    const receiver = run('receive-loop.ts', ['2']);
    await receiver.waitFor('output', /subscribed/, '"subscribed"');
    const file = join(dir, 'hello.txt');
    await writeFile(file, 'hello from a file');
    for (const args of [[], [file]]) {
      const sender = run('send.ts', args);
      assert.equal(await sender.exitCode(), 0, sender.output);
      assert.match(sender.output, /sent /);
    }
    assert.equal(await receiver.exitCode(), 0, receiver.output);
    assert.match(receiver.output, /greeting\.txt/);
    assert.match(receiver.output, /17 bytes \(hello\.txt\)/);
    assert.match(receiver.output, /received 2 message/);
  });

  it('subscription.ts', async () => {
    const receiver = run('subscription.ts', ['1']);
    await receiver.waitFor('output', /subscription: subscribed/, '"subscription: subscribed"');
    const sender = run('send.ts');
    assert.equal(await sender.exitCode(), 0, sender.output);
    assert.equal(await receiver.exitCode(), 0, receiver.output);
    assert.match(receiver.output, /Hello from examples\/send\.ts/);
  });

  it('push-receiver.ts', async () => {
    const receiver = run('push-receiver.ts', ['1']);
    await receiver.waitFor('output', /listening for pushes/, '"listening for pushes"');
    const pushConf = join(dir, 'push.toml');
    await writeFile(
      pushConf,
      (await readFile(conf, 'utf8')).replace('channel = "examples"', 'channel = "pushed"'),
    );
    const sender = run('send.ts', [], { DDMW_APPCONF: pushConf });
    assert.equal(await sender.exitCode(), 0, sender.output);
    assert.equal(await receiver.exitCode(), 0, receiver.output);
    assert.match(receiver.output, /pushed .* on channel pushed/);
  });

  it('account-admin.ts', async () => {
    const admin = run('account-admin.ts', ['reader', 'subscribe']);
    assert.equal(await admin.exitCode(), 0, admin.output);
    assert.match(admin.output, /account \d+: reader/);
    assert.match(admin.output, /reader: \(no permissions\)/);
    assert.match(admin.output, /reader: subscribe/);
  });

  it('stream.ts', async () => {
    const streamer = run('stream.ts', ['500']);
    assert.equal(await streamer.exitCode(), 0, streamer.output);
    const m = /wrote (\d+) bytes, received (\d+) bytes/.exec(streamer.output);
    assert.ok(m && m[1] === m[2] && Number(m[1]) > 0, streamer.output);
  });
});

describe('demo.ts', () => {
  /** Runs the demo with its temporary folder made in a new folder of our own, to see what it leaves. */
  async function runDemo(env: Record<string, string> = {}) {
    const tmp = await mkdtemp(join(dir, 'demo-tmp-'));
    const demo = run('demo.ts', [], { DDMW_DEMO_TMPDIR: tmp, ...env });
    /** Checks, once it exited, that it made its temporary folder in `tmp` and removed it. */
    const assertCleanedUp = async () => {
      const made = /temporary files in (.+)/.exec(demo.output)?.[1] ?? '';
      assert.ok(made.startsWith(join(tmp, 'ddmw-demo-')), demo.output);
      await assert.rejects(stat(made), { code: 'ENOENT' }, `${made} is still there`);
      assert.deepEqual(await readdir(tmp), [], demo.output);
    };
    return { demo, assertCleanedUp };
  }

  it('sends, receives and verifies everything, and cleans up', async () => {
    const { demo, assertCleanedUp } = await runDemo();
    // The demo's own limit is 120 s; it then takes at most a few seconds to clean up.
    assert.equal(await demo.exitCode(150_000), 0, demo.output);
    assert.match(demo.output, /all messages crossed the one-way link and verified/);
    await assertCleanedUp();
  });

  it('at its time limit says what did not arrive, exits 1 and cleans up', async () => {
    const { demo, assertCleanedUp } = await runDemo({ DDMW_DEMO_TIMEOUT_MS: '1' });
    assert.equal(await demo.exitCode(), 1, demo.output);
    assert.match(
      demo.output,
      /demo failed: waiting for the simulator to start: the demo's time limit of 1 ms ran out/,
    );
    assert.match(demo.output, /did not arrive: .*64 MiB file \(67,108,864 bytes\), not sent/);
    await assertCleanedUp();
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`on ${signal} stops, exits ${code} and cleans up`, async () => {
      const { demo, assertCleanedUp } = await runDemo();
      await demo.waitFor('output', /subscribed to channel/, '"subscribed to channel"');
      assert.deepEqual(await demo.stop(signal), { code, signal: null }, demo.output);
      assert.match(demo.output, new RegExp(`interrupted by ${signal}`));
      await assertCleanedUp();
    });
  }
});
