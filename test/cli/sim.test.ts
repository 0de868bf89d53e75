/** `ddmw sim` run as a process: loss on stderr, config checks, the client config it writes. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { load } from '../../src/conf.ts';
import { connsend } from '../../src/msg/index.ts';
import { killedAfterEach, TestChild } from '../helpers/child.ts';
import { ddmwArgs } from '../helpers/ddmw.ts';
import { literal } from '../helpers/literal.ts';

let dir: string;
const track = killedAfterEach();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-sim-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts `ddmw sim` with `args` (no ddmwapp.toml of its own). */
function ddmwSim(...args: string[]): TestChild {
  const env = { ...process.env };
  delete env.DDMW_APPCONF;
  return track(
    new TestChild(
      'ddmw sim',
      process.execPath,
      ddmwArgs('--config', '/dev/null', 'sim', ...args), // no client config
      env,
    ),
  );
}

/** Writes a sim config into the test folder and returns its path. */
async function simConfig(text: string): Promise<string> {
  const path = join(dir, 'sim.toml');
  await writeFile(path, text);
  return path;
}

/** The four addresses of the banner, once it is out. */
async function bannerAddresses(sim: TestChild) {
  const m = await sim.waitFor(
    'stdout',
    /sender {3}msgif {2}(\S+)\n {2}sender {3}mgmtif (\S+)\n {2}receiver subif {2}(\S+)\n {2}receiver mgmtif (\S+)\n[\s\S]*\[receiver\]\nsubif = .*\nmgmtif = .*\n/,
    'the banner with the client config',
  );
  return { sender: { msgif: m[1], mgmtif: m[2] }, receiver: { subif: m[3], mgmtif: m[4] } };
}

describe('ddmw sim', () => {
  it('prints every loss and link change on stderr without --log (udp, seeded faults)', async () => {
    const file = await simConfig(
      [
        '[link]',
        'transport = "udp"',
        'redundancy = 2',
        'heartbeat-ms = 200',
        '[link.faults]',
        'seed = 7',
        'loss = 1',
        '[[link.faults.down]]',
        'at-ms = 0',
        'for-ms = 2500',
        '',
      ].join('\n'),
    );
    const client = join(dir, 'client.toml');
    const sim = ddmwSim('--sim-config', file, '--write-config', client);
    await bannerAddresses(sim);
    assert.match(sim.stdout, /link: udp, 256 MiB\/s, redundancy 2\n/);
    assert.match(sim.stdout, /faults: seed 7, loss 1, 1 down window\n/);
    await sim.waitFor('stderr', /^link: down: .+$/m, 'a "link: down" line');
    await sim.waitFor('stderr', /^link: up: .+$/m, 'a "link: up" line');

    const config = await load(client);
    const msgif = config?.sender?.msgif;
    assert.ok(msgif, 'the written config has sender.msgif');
    const xferId = await connsend(msgif, config?.auth, { ch: 7 }, { payload: 'x'.repeat(1000) });
    const line = await sim.waitFor(
      'stderr',
      new RegExp(`^loss: lost: message ${literal(xferId)} .*$`, 'm'),
      `a loss line for message ${xferId}`,
    );
    assert.match(line[0], / on channel 7 \(1000 bytes\), /);
    assert.doesNotMatch(sim.stderr, /accepted message/, 'no --log lines');
    assert.deepEqual(await sim.stop(), { code: 0, signal: null });
  });

  it('exits 2 on a bad link value, naming the file and the key', async () => {
    const file = await simConfig('[[link.faults.down]]\nat-ms = -5\nfor-ms = 10\n');
    const sim = ddmwSim('--sim-config', file);
    assert.deepEqual(await sim.exited(), { code: 2, signal: null });
    assert.equal(
      sim.stderr,
      `ddmw sim: Invalid simulator config ${file}: link.faults.down[0].at-ms must be 0 or more, got -5\n`,
    );
    assert.equal(sim.stdout, '');
  });

  it('warns about an unknown key, naming the closest known key, and runs', async () => {
    const file = await simConfig('[link]\nheartbeat = 100\n');
    const sim = ddmwSim('--sim-config', file);
    await bannerAddresses(sim);
    assert.equal(
      sim.stderr,
      `ddmw sim: warning: ${file}: unknown key link.heartbeat (ignored); did you mean link.heartbeat-ms?\n`,
    );
    assert.match(sim.stdout, /link: stream \(lossless\)\n/);
    assert.deepEqual(await sim.stop(), { code: 0, signal: null });
  });

  it('--write-config writes a 0600 config conf.load accepts; an existing file needs --force', async () => {
    const client = join(dir, 'ddmwapp.toml');
    await writeFile(client, 'old\n', { mode: 0o644 });
    const refused = ddmwSim('--write-config', client);
    assert.deepEqual(await refused.exited(), { code: 2, signal: null });
    assert.match(refused.stderr, /already exists: pass --force/);
    assert.equal(await readFile(client, 'utf8'), 'old\n');

    const sim = ddmwSim('--write-config', client, '--force');
    const addresses = await bannerAddresses(sim);
    assert.equal((await stat(client)).mode & 0o777, 0o600);
    const config = await load(client);
    assert.deepEqual(
      { sender: config?.sender, receiver: config?.receiver },
      { sender: addresses.sender, receiver: addresses.receiver },
    );
    assert.equal(config?.auth?.name, 'demo');
    assert.deepEqual(await sim.stop(), { code: 0, signal: null });
  });
});
