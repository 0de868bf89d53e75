/** The pieces of `ddmw sim` that need no process: config keys, errors, banner, client config. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { parse } from 'smol-toml';
import { clientConfigToml } from '../../src/cli/client-config.ts';
import { DEMO_ACCOUNT, inSimConfig } from '../../src/cli/sim-config.ts';
import { checkKeys, closestKey, KNOWN_KEYS } from '../../src/cli/sim-config-keys.ts';
import { describeLink } from '../../src/cli/sim-report.ts';
import { parseConfig } from '../../src/conf.ts';
import { DdmwError } from '../../src/err.ts';
import { type LimitOptions, limitSettings } from '../../src/sim/limits.ts';

describe('sim config keys', () => {
  it('camelizes nested tables and lists of tables, values untouched', () => {
    const doc = parse(
      [
        'unix-socket-dir = "/tmp/s"',
        '[[accounts]]',
        'name = "a"',
        'pass = "p"',
        'user-name = "Ann"',
        'perms = ["send", "sub-scribe"]',
        '[link]',
        'rate-bytes-per-sec = inf',
        '[link.faults]',
        'start-loss = 0.5',
        'burst = { enter = 0.1, leave = 0.5 }',
        '[[link.faults.down]]',
        'at-ms = 100',
        'for-ms = 200',
      ].join('\n'),
    );
    assert.deepEqual(checkKeys(doc), {
      options: {
        unixSocketDir: '/tmp/s',
        accounts: [{ name: 'a', pass: 'p', userName: 'Ann', perms: ['send', 'sub-scribe'] }],
        link: {
          rateBytesPerSec: Number.POSITIVE_INFINITY,
          faults: {
            startLoss: 0.5,
            burst: { enter: 0.1, leave: 0.5 },
            down: [{ atMs: 100, forMs: 200 }],
          },
        },
      },
      unknown: [],
    });
  });

  it('leaves out unknown keys and callbacks, naming the closest known key', () => {
    const doc = parse(
      'log = true\nredundancy = 2\n[link]\nfault = "drop"\n[[link.faults.down]]\nat = 1\n[[push]]\nch = 1\naddress = "x:1"\n',
    );
    const { options, unknown } = checkKeys(doc);
    assert.deepEqual(options, { link: { faults: { down: [{}] } }, push: [{ ch: 1 }] });
    assert.deepEqual(unknown, [
      { key: 'log', closest: 'host' },
      { key: 'redundancy', closest: 'link.redundancy' },
      { key: 'link.fault', closest: 'link.faults' },
      { key: 'link.faults.down[0].at', closest: 'link.faults.down[0].at-ms' },
      { key: 'push[0].address', closest: 'push[0].addr' },
    ]);
  });

  it('lists every key in kebab-case, without the callbacks', () => {
    assert.ok(KNOWN_KEYS.includes('link.faults.burst.enter'));
    assert.ok(KNOWN_KEYS.includes('push-reconnect-delay-ms'));
    assert.ok(KNOWN_KEYS.includes('limits.auth-fail-delay-max-ms'));
    assert.ok(!KNOWN_KEYS.includes('link.fault') && !KNOWN_KEYS.includes('log'));
    assert.equal(closestKey('lnk.transprt'), 'link.transport');
  });

  it('are all in docs/sim-config.md (within their [link], [link.faults] or [limits] table)', async () => {
    const docs = await readFile(new URL('../../docs/sim-config.md', import.meta.url), 'utf8');
    const leaves = KNOWN_KEYS.filter(
      (k) => !KNOWN_KEYS.some((o) => o.startsWith(`${k}.`) || o.startsWith(`${k}[]`)),
    );
    const missing = leaves.filter(
      (k) => !docs.includes(`\`${k.replace(/^(link\.(faults\.)?|limits\.)/, '')}\``),
    );
    assert.deepEqual(missing, []);
  });
});

describe('sim config errors', () => {
  it('names the file and the key as the file spells it', () => {
    const err = inSimConfig(
      'sim.toml',
      new DdmwError(
        'BAD_INPUT',
        'Simulator option link.heartbeatMs must be a positive number, got 0',
      ),
    );
    assert.ok(err instanceof DdmwError);
    assert.equal(err.code, 'CONFIG');
    assert.equal(
      err.message,
      'Invalid simulator config sim.toml: link.heartbeat-ms must be a positive number, got 0',
    );
    const both = inSimConfig(
      'sim.toml',
      new DdmwError('BAD_PARAMS', 'Simulator options ports and unixSocketDir exclude each other'),
    );
    assert.match(String(both), /sim.toml: ports and unix-socket-dir exclude each other$/);
  });

  it('names a limit out of range as the [limits] table spells it', () => {
    const { options } = checkKeys(parse('[limits]\nmax-connections = 0\nauth-fail-delay-ms = 5\n'));
    assert.deepEqual(options, { limits: { maxConnections: 0, authFailDelayMs: 5 } });
    const inFile = (limits: LimitOptions) => {
      try {
        limitSettings(limits);
      } catch (err) {
        return String(inSimConfig('sim.toml', err));
      }
      assert.fail('expected an error');
    };
    assert.equal(
      inFile(options.limits ?? {}),
      'DdmwError: Invalid simulator config sim.toml: limits.max-connections must be an integer from 1 to 1000000, got 0',
    );
    assert.match(
      inFile({ authFailDelayMs: 10, authFailDelayMaxMs: 5 }),
      /sim.toml: limits.auth-fail-delay-ms and limits.auth-fail-delay-max-ms must be in order/,
    );
  });

  it('leaves other errors alone', () => {
    const io = new DdmwError('IO', 'port in use');
    assert.equal(inSimConfig('sim.toml', io), io);
  });
});

describe('sim banner', () => {
  it('summarizes the link and its faults', () => {
    assert.deepEqual(describeLink(undefined), { link: 'stream (lossless)' });
    assert.deepEqual(describeLink({ transport: 'udp', redundancy: 2 }), {
      link: 'udp, 256 MiB/s, redundancy 2',
    });
    assert.deepEqual(
      describeLink({
        rateBytesPerSec: 1536,
        faults: { seed: 7, loss: 0.01, down: [{ atMs: 0, forMs: 1 }] },
      }),
      { link: 'stream, 1.5 KiB/s', faults: 'seed 7, loss 0.01, 1 down window' },
    );
  });
});

describe('client config', () => {
  const sim = {
    sender: { msgif: '/tmp/s/sender-msgif.sock', mgmtif: '127.0.0.1:1' },
    receiver: { subif: '[::1]:2', mgmtif: '127.0.0.1:3' },
  };

  it('holds the addresses and the demo login, and conf reads it', () => {
    const config = parseConfig(clientConfigToml(sim, DEMO_ACCOUNT, 'demo'), 'client.toml');
    assert.deepEqual(config.sender, sim.sender);
    assert.deepEqual(config.receiver, sim.receiver);
    assert.deepEqual(Object.keys(config.auth ?? {}), ['name', 'pass']);
    assert.equal(config.auth?.name, 'demo');
    assert.equal(config.auth?.pass?.reveal(), 'demo');
  });

  it('never holds another passphrase', () => {
    const text = clientConfigToml(sim, undefined, 'frank, jane');
    assert.equal(parseConfig(text, 'client.toml').auth, undefined);
    assert.match(text, /^# \[auth\]: .*frank, jane$/m);
  });
});
