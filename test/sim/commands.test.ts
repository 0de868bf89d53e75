/** The common commands (Auth, Unauth, WhoAmI, GetNodeInfo) on every simulator interface. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { type as osType } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { expectFail, expectOk, WireClients } from './wire-client.ts';

const ACCOUNTS = [
  { name: 'frank', pass: 'frank-secret', perms: ['send'] },
  { name: 'jane', pass: 'jane secret with spaces' },
  { name: 'locky', pass: 'locky-secret', lock: true },
];

let sim: Simulator;
const logLines: string[] = [];
const clients = new WireClients();
const open = (address: string) => clients.open(address);

/** Every interface of the simulator: name and address. */
const INTERFACES: [string, () => string][] = [
  ['sender msgif', () => sim.sender.msgif],
  ['sender mgmtif', () => sim.sender.mgmtif],
  ['receiver subif', () => sim.receiver.subif],
  ['receiver mgmtif', () => sim.receiver.mgmtif],
];

before(async () => {
  sim = await startSimulator({ accounts: ACCOUNTS, log: (line) => logLines.push(line) });
});

after(async () => {
  clients.destroyAll();
  await sim.close();
});

describe('every interface', () => {
  for (const [name, address] of INTERFACES) {
    it(`answers Auth, WhoAmI, Unauth, GetNodeInfo and refuses unknown topics on the ${name}`, async () => {
      const c = await open(address());
      assert.deepEqual(await expectOk(c, 'WhoAmI'), { Id: '0', Name: 'unauthenticated' });
      assert.deepEqual(
        await expectOk(c, 'Auth', { AccName: 'jane', Pass: ACCOUNTS[1]?.pass ?? '' }),
        {},
      );
      assert.deepEqual(await expectOk(c, 'WhoAmI'), { Id: '2', Name: 'jane' });
      assert.deepEqual(await expectOk(c, 'Unauth'), {});
      assert.deepEqual(await expectOk(c, 'WhoAmI'), { Id: '0', Name: 'unauthenticated' });
      const info = await expectOk(c, 'GetNodeInfo');
      assert.equal(info['ddmw.node'], name.startsWith('sender') ? 'sender' : 'receiver');
      const reason = await expectFail(c, 'Frobnicate', { x: '1' });
      assert.match(reason, /Unknown command "Frobnicate"/);
      assert.match(reason, new RegExp(name.split(' ')[1] as string));
    });
  }
});

describe('Auth with account and passphrase', () => {
  it('logs in and returns no token unless one is requested', async () => {
    const c = await open(sim.sender.msgif);
    assert.deepEqual(await expectOk(c, 'Auth', { AccName: 'frank', Pass: 'frank-secret' }), {});
    assert.deepEqual(await expectOk(c, 'WhoAmI'), { Id: '1', Name: 'frank' });
  });

  it('fails for a wrong passphrase, an unknown account and a locked account', async () => {
    const c = await open(sim.sender.mgmtif);
    const wrong = await expectFail(c, 'Auth', { AccName: 'frank', Pass: 'guess' });
    const unknown = await expectFail(c, 'Auth', { AccName: 'nobody', Pass: 'guess' });
    assert.equal(wrong, unknown, 'a wrong name and a wrong passphrase look the same');
    assert.match(wrong, /Authentication failed/);
    const locked = await expectFail(c, 'Auth', { AccName: 'locky', Pass: 'locky-secret' });
    assert.match(locked, /locked/);
    assert.deepEqual(await expectOk(c, 'WhoAmI'), { Id: '0', Name: 'unauthenticated' });
  });

  it('keeps the current account when a later Auth fails', async () => {
    const c = await open(sim.receiver.mgmtif);
    await expectOk(c, 'Auth', { AccName: 'frank', Pass: 'frank-secret' });
    await expectFail(c, 'Auth', { AccName: 'jane', Pass: 'wrong' });
    assert.deepEqual(await expectOk(c, 'WhoAmI'), { Id: '1', Name: 'frank' });
  });

  it('returns a fresh 32-hex token for every truthy ReqTkn spelling', async () => {
    const c = await open(sim.sender.msgif);
    const tokens = new Set<string>();
    for (const value of ['True', 'true', 'yes', '1']) {
      const reply = await expectOk(c, 'Auth', {
        AccName: 'frank',
        Pass: 'frank-secret',
        ReqTkn: value,
      });
      assert.match(reply.Tkn ?? '', /^[0-9a-f]{32}$/, `ReqTkn ${value}`);
      tokens.add(reply.Tkn as string);
    }
    assert.equal(tokens.size, 4);
    const none = await expectOk(c, 'Auth', {
      AccName: 'frank',
      Pass: 'frank-secret',
      ReqTkn: 'False',
    });
    assert.deepEqual(none, {});
  });

  it('fails for an unparseable ReqTkn and for missing keys', async () => {
    const c = await open(sim.sender.msgif);
    const bad = await expectFail(c, 'Auth', {
      AccName: 'frank',
      Pass: 'frank-secret',
      ReqTkn: 'maybe',
    });
    assert.match(bad, /ReqTkn/);
    assert.match(await expectFail(c, 'Auth', { AccName: 'frank' }), /AccName and Pass/);
    assert.match(await expectFail(c, 'Auth', { Pass: 'frank-secret' }), /AccName and Pass/);
    assert.match(await expectFail(c, 'Auth'), /AccName and Pass/);
    assert.deepEqual(await expectOk(c, 'WhoAmI'), { Id: '0', Name: 'unauthenticated' });
  });
});

describe('Auth with a token', () => {
  it('accepts a token issued on another interface of another node', async () => {
    const issuer = await open(sim.sender.msgif);
    const { Tkn } = await expectOk(issuer, 'Auth', {
      AccName: 'jane',
      Pass: ACCOUNTS[1]?.pass ?? '',
      ReqTkn: 'True',
    });
    assert.ok(Tkn);
    const user = await open(sim.receiver.subif);
    assert.deepEqual(await expectOk(user, 'Auth', { Tkn }), {});
    assert.deepEqual(await expectOk(user, 'WhoAmI'), { Id: '2', Name: 'jane' });
    // The token stays valid after use and after the issuing connection logs out.
    await expectOk(issuer, 'Unauth');
    const again = await open(sim.receiver.mgmtif);
    assert.deepEqual(
      await expectOk(again, 'Auth', { Tkn, ReqTkn: 'True' }),
      {},
      'no new token from a token login',
    );
  });

  it('fails for an unknown token, and for a token mixed with a passphrase', async () => {
    const c = await open(sim.sender.mgmtif);
    assert.match(await expectFail(c, 'Auth', { Tkn: '0'.repeat(32) }), /unknown token/);
    assert.match(
      await expectFail(c, 'Auth', { Tkn: '0'.repeat(32), AccName: 'frank', Pass: 'frank-secret' }),
      /not both/,
    );
    assert.deepEqual(await expectOk(c, 'WhoAmI'), { Id: '0', Name: 'unauthenticated' });
  });
});

describe('GetNodeInfo', () => {
  for (const node of ['sender', 'receiver'] as const) {
    it(`reports every key on the ${node} node`, async () => {
      const c = await open(node === 'sender' ? sim.sender.mgmtif : sim.receiver.subif);
      const pkg = JSON.parse(
        await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
      );
      assert.deepEqual(await expectOk(c, 'GetNodeInfo'), {
        'ddmw.node': node,
        'ddmw.version': pkg.version,
        'os.name': osType(),
        'ddmw.ddlnk.engine': 'ddmw-sim',
        'ddmw.ddlink.engine': 'ddmw-sim',
        'ddmw.ddlink.protocol': 'udp',
        'ddmw.ddlink.protimpl': 'generic',
      });
    });
  }

  it('needs no login', async () => {
    const c = await open(sim.receiver.mgmtif);
    const info = await expectOk(c, 'GetNodeInfo');
    assert.equal(info['ddmw.node'], 'receiver');
  });
});

describe('logging', () => {
  it('never logs passphrases or tokens', async () => {
    const c = await open(sim.sender.msgif);
    const { Tkn } = await expectOk(c, 'Auth', {
      AccName: 'frank',
      Pass: 'frank-secret',
      ReqTkn: 'True',
    });
    assert.ok(Tkn);
    await expectOk(c, 'Auth', { Tkn });
    await expectFail(c, 'Auth', { AccName: 'frank', Pass: 'wrong-guess' });
    const log = logLines.join('\n');
    assert.match(log, /< Auth:\{.*Pass=<redacted>/);
    assert.match(log, /< Auth:\{Tkn=<redacted>\}/);
    assert.match(log, /> Ok:\{Tkn=<redacted>\}/);
    for (const secret of ['frank-secret', 'wrong-guess', 'jane secret', Tkn]) {
      assert.ok(!log.includes(secret), `log shows ${secret}`);
    }
  });
});
