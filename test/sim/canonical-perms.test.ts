/**
 * Channel permissions in canonical form: `send:042` is stored, shown and
 * compared as `send:42`, whether it comes from the accounts option, a
 * `WrAcc` or the state file; a permission whose channel is not valid is
 * refused with a reason quoting it (from a state file, dropped with a log
 * line quoting it).
 */
import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { expectFail, expectOk, readMsg, sendMsg, WireClients } from './wire-client.ts';

const ADMIN = { name: 'admin', pass: 'admin-pass' };
const WRITTEN = { name: 'written', pass: 'written-pass' };
const GRANTED = { name: 'granted', pass: 'granted-pass' };

let sim: Simulator;
const clients = new WireClients();

before(async () => {
  sim = await startSimulator({
    accounts: [
      { ...ADMIN, perms: ['*'] },
      { ...WRITTEN, perms: ['send:042', 'subscribe:+042', 'send:42'] },
      { ...GRANTED, perms: [] },
    ],
  });
});
after(async () => {
  clients.destroyAll();
  await sim.close();
});

/** The `Perms` of an account, as `RdAcc` shows them. */
async function permsOf(name: string): Promise<string | undefined> {
  const admin = await clients.open(sim.sender.mgmtif, ADMIN);
  return (await expectOk(admin, 'RdAcc', { Name: name })).Perms;
}

describe('permissions written with another form of the channel', () => {
  it('from the accounts option are stored as send:42 and work on channel 42', async () => {
    assert.equal(await permsOf(WRITTEN.name), 'send:42,subscribe:42');
    const sub = await clients.subscriber(sim.receiver.subif, 42, WRITTEN);
    const sender = await clients.open(sim.sender.msgif, WRITTEN);
    const xferId = await sendMsg(sender, { ch: 42, payload: Buffer.from('x') });
    const got = await within(readMsg(sub), 10_000, 'the message on channel 42');
    assert.equal(got?.params.XferId, xferId);
    assert.equal(got?.params._Ch, '42');
  });

  it('granted by WrAcc as send:042 work as send:42, and revoke as send:+42', async () => {
    const admin = await clients.open(sim.receiver.mgmtif, ADMIN);
    await expectOk(admin, 'WrAcc', { Name: GRANTED.name, Grant: 'send:042,subscribe:007' });
    assert.equal(await permsOf(GRANTED.name), 'send:42,subscribe:7');
    const sender = await clients.open(sim.sender.msgif, GRANTED);
    await sendMsg(sender, { ch: 42, payload: Buffer.from('x') });
    await expectOk(admin, 'WrAcc', { Name: GRANTED.name, Revoke: 'send:+42' });
    assert.equal(await permsOf(GRANTED.name), 'subscribe:7');
    const reason = await expectFail(sender, 'Msg', { _Ch: '42', Len: 1 });
    assert.equal(reason, 'Permission denied: account "granted" may not send on channel "42"');
    await expectOk(admin, 'WrAcc', { Name: GRANTED.name, Perms: 'send:0' });
    assert.equal(await permsOf(GRANTED.name), 'send:0');
  });

  it('granted and revoked in one WrAcc in two forms are refused', async () => {
    const admin = await clients.open(sim.receiver.mgmtif, ADMIN);
    const reason = await expectFail(admin, 'WrAcc', {
      Name: GRANTED.name,
      Grant: 'send:9',
      Revoke: 'send:09',
    });
    assert.match(reason, /send:9 both granted and revoked/);
  });
});

describe('a permission whose channel is not valid', () => {
  it('is refused by WrAcc with a reason quoting it, and nothing changes', async () => {
    const admin = await clients.open(sim.receiver.mgmtif, ADMIN);
    const before = await permsOf(GRANTED.name);
    const long = `send:${'x'.repeat(256)}`;
    for (const [key, perm, why] of [
      ['Grant', 'send:', 'the channel is empty'],
      ['Grant', 'subscribe: 42', 'its channel starts or ends with white space'],
      ['Revoke', ' send:42', 'it starts or ends with white space'],
      ['Perms', long, 'channel names are limited to 255 bytes'],
    ] as const) {
      const reason = await expectFail(admin, 'WrAcc', { Name: GRANTED.name, [key]: perm });
      assert.equal(reason, `WrAcc ${key}: Permission "${perm}" is not valid: ${why}`);
    }
    assert.equal(await permsOf(GRANTED.name), before);
  });

  it('is refused in the accounts option with BAD_INPUT quoting it', async () => {
    const e = await rejectsCode(
      startSimulator({ accounts: [{ name: 'a', pass: 'p', perms: ['subscribe:'] }] }),
      'BAD_INPUT',
    );
    assert.match(e.message, /#1: Permission "subscribe:" is not valid: the channel is empty/);
  });

  it('refused Sub quotes the channel', async () => {
    const sub = await clients.open(sim.receiver.subif, GRANTED);
    const reason = await expectFail(sub, 'Sub', { Ch: '0042' });
    assert.equal(reason, 'Permission denied: account "granted" may not subscribe to channel "42"');
  });
});

describe('a state file with permissions in another form', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ddmw-perms-state-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A state file with one account `a` (passphrase `p`) holding `perms`. */
  async function stateFile(name: string, perms: string[]): Promise<string> {
    const salt = randomBytes(16);
    const hash = scryptSync('p', salt, 32, { N: 16384 });
    const scrypt = { salt: salt.toString('hex'), hash: hash.toString('hex') };
    const account = { id: 1, name: 'a', lock: false, perms, scrypt };
    const file = join(dir, `${name}.json`);
    const data = { format: 'ddmw-sim-accounts', version: 1, accounts: [account] };
    await writeFile(file, JSON.stringify(data), { mode: 0o600 });
    return file;
  }

  it('is loaded in canonical form', async () => {
    const file = await stateFile('canonical', ['send:042', 'subscribe:+7']);
    const loaded = await startSimulator({ stateFile: file });
    const local = new WireClients();
    try {
      const me = await local.open(loaded.sender.mgmtif, { name: 'a', pass: 'p' });
      assert.equal((await expectOk(me, 'RdAcc')).Perms, 'send:42,subscribe:7');
      const sender = await local.open(loaded.sender.msgif, { name: 'a', pass: 'p' });
      await sendMsg(sender, { ch: 42 });
    } finally {
      local.destroyAll();
      await loaded.close();
    }
  });

  it('with a channel that is not valid is loaded without it, and the permission dropped is logged', async () => {
    const file = await stateFile('bad', ['send:', 'subscribe: 7', 'send:42']);
    const log: string[] = [];
    const loaded = await startSimulator({ stateFile: file, log: (line) => log.push(line) });
    const local = new WireClients();
    try {
      for (const dropped of [
        'Permission "send:" is not valid: the channel is empty',
        'Permission "subscribe: 7" is not valid: its channel starts or ends with white space',
      ]) {
        const line = `state file ${file}: account "a": ${dropped}; dropped`;
        assert.ok(log.includes(line), `${line}\n${log.join('\n')}`);
      }
      const me = await local.open(loaded.sender.mgmtif, { name: 'a', pass: 'p' });
      assert.equal((await expectOk(me, 'RdAcc')).Perms, 'send:42');
    } finally {
      local.destroyAll();
      await loaded.close();
    }
  });

  it('with a permission that is not text is a corrupt file', async () => {
    const file = await stateFile('not-text', ['send:1\n']);
    const e = await rejectsCode(startSimulator({ stateFile: file }), 'BAD_INPUT');
    assert.match(e.message, /corrupt: account #1: perms is not a list of permission names/);
  });
});
