/**
 * Account management (mgmt.acc) against the simulator's management
 * interfaces of both nodes, over real sockets, and the simulator's state file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accpass, token } from '../../src/auth.ts';
import { encodeTelegram, type ParamValue, Telegram } from '../../src/blather/index.ts';
import { type Connection, connect, whoami } from '../../src/conn/index.ts';
import { acc } from '../../src/mgmt/index.ts';
import { type SimAccount, type Simulator, startSimulator } from '../../src/sim/index.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { startFakeServer } from '../helpers/fake-server.ts';

const ACCOUNTS: SimAccount[] = [
  { name: 'admin', pass: 'admin-pass', perms: ['*'] },
  { name: 'reader', pass: 'reader-pass', perms: ['accounts.read'] },
  { name: 'writer', pass: 'writer-pass', perms: ['accounts.write'] },
  { name: 'plain', pass: 'plain-pass', perms: ['send', 'subscribe'], userName: 'Plain User' },
  { name: 'locked', pass: 'locked-pass', lock: true },
  { name: 'victim', pass: 'victim-pass' },
  { name: 'target', pass: 'target-pass', perms: ['send'] },
];

for (const node of ['sender', 'receiver'] as const) {
  describe(`mgmt.acc on the ${node} node's mgmtif`, () => {
    let sim: Simulator;
    const conns: Connection[] = [];
    const open = async (name?: string): Promise<Connection> => {
      const conn = await connect(
        sim[node].mgmtif,
        name ? { auth: { name, pass: `${name}-pass` } } : {},
      );
      conns.push(conn);
      return conn;
    };

    before(async () => {
      sim = await startSimulator({ accounts: ACCOUNTS });
    });
    after(async () => {
      await Promise.all(conns.map((conn) => conn.close()));
      await sim.close();
    });

    it('rd reads the own account without any permission', async () => {
      const conn = await open('plain');
      const me = await acc.rd(conn);
      assert.deepEqual(me, {
        id: 4,
        name: 'plain',
        lock: false,
        perms: new Set(['send', 'subscribe']),
        userName: 'Plain User',
      });
      assert.deepEqual(await acc.rd(conn, 4), me);
      assert.deepEqual(await acc.rd(conn, 'plain'), me);
    });

    it('rd reads other accounts by id and by name with accounts.read', async () => {
      const conn = await open('reader');
      const byId = await acc.rd(conn, 5);
      assert.deepEqual(byId, { id: 5, name: 'locked', lock: true, perms: new Set() });
      assert.deepEqual(await acc.rd(conn, 'locked'), byId);
      assert.equal((await acc.rd(conn, 'admin')).perms.has('*'), true);
      await rejectsCode(acc.rd(conn, 99), 'SERVER_ERROR');
      await rejectsCode(acc.rd(conn, 0), 'SERVER_ERROR');
      await rejectsCode(acc.rd(conn, 'unauthenticated'), 'SERVER_ERROR');
    });

    it('ls lists unlocked accounts, and locked ones with inclLocked', async () => {
      const conn = await open('admin');
      const unlocked = await acc.ls(conn);
      assert.ok(unlocked.every((e) => e.name !== 'locked'));
      assert.deepEqual(unlocked[0], { id: 1, name: 'admin' });
      const all = await acc.ls(conn, true);
      assert.deepEqual(
        all.map((e) => e.id),
        [1, 2, 3, 4, 5, 6, 7],
      );
      assert.deepEqual(all[4], { id: 5, name: 'locked' });
    });

    it('refuses without login or permission, and the connection stays usable', async () => {
      const anon = await open();
      for (const p of [
        acc.rd(anon),
        acc.ls(anon),
        acc.wr(anon, 'target', { lock: true }),
        acc.rm(anon, 'victim'),
      ]) {
        await rejectsCode(p, 'SERVER_ERROR');
      }
      assert.equal((await whoami(anon)).id, 0);
      const plain = await open('plain');
      await rejectsCode(acc.rd(plain, 'admin'), 'SERVER_ERROR');
      await rejectsCode(acc.rd(plain, 99), 'SERVER_ERROR');
      const denied = await rejectsCode(acc.ls(plain), 'SERVER_ERROR');
      assert.match(denied.message, /accounts\.read/);
      const reader = await open('reader');
      const e = await rejectsCode(acc.wr(reader, 'target', { lock: true }), 'SERVER_ERROR');
      assert.match(e.message, /accounts\.write/);
      await rejectsCode(acc.rm(reader, 'victim'), 'SERVER_ERROR');
      assert.equal((await acc.rd(reader, 'target')).lock, false);
      const writer = await open('writer');
      await rejectsCode(acc.ls(writer), 'SERVER_ERROR');
      assert.equal((await acc.rd(writer)).name, 'writer');
    });

    it('wr renames, sets the user name, and changes permissions', async () => {
      const writer = await open('writer');
      const admin = await open('admin');
      await acc.wr(writer, 'target', { newName: 'target2', userName: 'Tess Target' });
      let t = await acc.rd(admin, 7);
      assert.equal(t.name, 'target2');
      assert.equal(t.userName, 'Tess Target');
      await rejectsCode(acc.rd(admin, 'target'), 'SERVER_ERROR');
      await rejectsCode(acc.wr(writer, 7, { newName: 'admin' }), 'SERVER_ERROR');
      await acc.wr(writer, 7, { userName: '' });
      assert.equal((await acc.rd(admin, 7)).userName, undefined);
      await acc.wr(writer, 7, { perms: { set: ['a', 'b', 'c'] } });
      assert.deepEqual((await acc.rd(admin, 7)).perms, new Set(['a', 'b', 'c']));
      await acc.wr(writer, 7, { perms: { grant: ['d'] } });
      await acc.wr(writer, 7, { perms: { revoke: ['a'] } });
      assert.deepEqual((await acc.rd(admin, 7)).perms, new Set(['b', 'c', 'd']));
      await acc.wr(writer, 'target2', { perms: { grant: ['e', 'f'], revoke: ['b', 'c'] } });
      assert.deepEqual((await acc.rd(admin, 7)).perms, new Set(['d', 'e', 'f']));
      await acc.wr(writer, 7, { perms: { set: [] } });
      t = await acc.rd(admin, 7);
      assert.deepEqual(t.perms, new Set());
      await acc.wr(writer, 7, { newName: 'target', perms: { set: ['send'] } });
    });

    it('a locked account cannot log in, and its token stops working', async () => {
      const conn = await open();
      const tkn = await accpass(conn, 'target', 'target-pass', true);
      assert.ok(tkn);
      const admin = await open('admin');
      await acc.wr(admin, 'target', { lock: true });
      assert.equal((await acc.rd(admin, 'target')).lock, true);
      const other = await open();
      await rejectsCode(accpass(other, 'target', 'target-pass'), 'SERVER_ERROR');
      await rejectsCode(token(other, tkn), 'SERVER_ERROR');
      assert.equal((await whoami(other)).id, 0);
      assert.ok((await acc.ls(admin)).every((e) => e.name !== 'target'));
      await acc.wr(admin, 'target', { lock: false });
      await token(other, tkn);
      assert.equal((await whoami(other)).name, 'target');
      await rejectsCode(acc.wr(admin, 'admin', { lock: true }), 'SERVER_ERROR');
    });

    it('rm removes an account; not itself, not the built-in one', async () => {
      const conn = await open();
      const tkn = await accpass(conn, 'victim', 'victim-pass', true);
      assert.ok(tkn);
      const writer = await open('writer');
      await rejectsCode(acc.rm(writer, 'writer'), 'SERVER_ERROR');
      await rejectsCode(acc.rm(writer, 0), 'SERVER_ERROR');
      await rejectsCode(acc.wr(writer, 0, { lock: true }), 'SERVER_ERROR');
      await acc.rm(writer, 'victim');
      await rejectsCode(acc.rm(writer, 'victim'), 'SERVER_ERROR');
      const other = await open();
      await rejectsCode(token(other, tkn), 'SERVER_ERROR');
      await rejectsCode(accpass(other, 'victim', 'victim-pass'), 'SERVER_ERROR');
      const admin = await open('admin');
      assert.ok((await acc.ls(admin, true)).every((e) => e.name !== 'victim'));
      assert.equal((await acc.rd(admin, 'reader')).id, 2);
    });
  });
}

describe('mgmt.acc input checks (nothing is sent)', () => {
  let sim: Simulator;
  let conn: Connection;
  before(async () => {
    sim = await startSimulator({ accounts: ACCOUNTS });
    conn = await connect(sim.sender.mgmtif, { auth: { name: 'admin', pass: 'admin-pass' } });
  });
  after(async () => {
    await conn.close();
    await sim.close();
  });

  it('rejects bad targets and contradictory changes', async () => {
    await rejectsCode(acc.rd(conn, 1.5), 'BAD_INPUT');
    await rejectsCode(acc.rd(conn, 2 ** 60), 'BAD_INPUT');
    await rejectsCode(acc.rd(conn, ''), 'BAD_INPUT');
    await rejectsCode(acc.rm(conn, 'a\nb'), 'BAD_INPUT');
    await rejectsCode(acc.wr(conn, 2, {}), 'BAD_PARAMS');
    await rejectsCode(acc.wr(conn, 2, { newName: '' }), 'BAD_INPUT');
    const mixed = { set: ['a'], grant: ['b'] } as unknown as acc.ModPerms;
    await rejectsCode(acc.wr(conn, 2, { perms: mixed }), 'BAD_PARAMS');
    await rejectsCode(acc.wr(conn, 2, { perms: {} }), 'BAD_PARAMS');
    const noSet = { set: undefined } as unknown as acc.ModPerms;
    await rejectsCode(acc.wr(conn, 2, { perms: noSet }), 'BAD_PARAMS');
    await rejectsCode(acc.wr(conn, 2, { perms: { grant: ['a,b'] } }), 'BAD_INPUT');
    await rejectsCode(acc.wr(conn, 2, { perms: { grant: [''] } }), 'BAD_INPUT');
    await rejectsCode(acc.wr(conn, 2, { perms: { grant: ['x'], revoke: ['x'] } }), 'BAD_PARAMS');
    assert.equal((await acc.rd(conn, 2)).name, 'reader');
  });

  it('a missing reply key is MISSING_DATA naming it', async () => {
    const replyWith = async (
      reply: Record<string, ParamValue>,
      run: (c: Connection) => Promise<unknown>,
    ) => {
      const server = await startFakeServer(async ({ socket, reader }) => {
        await reader.readTelegram();
        socket.write(encodeTelegram(new Telegram('Ok', reply)));
      });
      const c = await connect(server.addr);
      try {
        return await rejectsCode(run(c), 'MISSING_DATA');
      } finally {
        await c.close();
        await server.close();
      }
    };
    const e1 = await replyWith({ Id: 1, Name: 'x', Lock: 'False' }, (c) => acc.rd(c));
    assert.match(e1.message, /Perms/);
    const e2 = await replyWith({ '#': 2, '0.Id': 1, '0.Name': 'a', '1.Id': 2 }, (c) => acc.ls(c));
    assert.match(e2.message, /1\.Name/);
  });
});

describe('simulator stateFile', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ddmw-acc-state-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps account changes across a restart, as hashes in a 0600 file', async () => {
    const stateFile = join(dir, 'accounts.json');
    let sim = await startSimulator({ accounts: ACCOUNTS, stateFile });
    const file = await stat(stateFile);
    assert.equal(file.mode & 0o777, 0o600);
    let conn = await connect(sim.receiver.mgmtif, { auth: { name: 'admin', pass: 'admin-pass' } });
    await acc.wr(conn, 'target', { newName: 'renamed', lock: true, perms: { set: ['x'] } });
    await acc.rm(conn, 'victim');
    await conn.close();
    await sim.close();
    const text = await readFile(stateFile, 'utf8');
    for (const spec of ACCOUNTS) assert.ok(!text.includes(spec.pass), `${spec.name}'s pass leaked`);
    assert.equal((await stat(stateFile)).mode & 0o777, 0o600);

    // The file is authoritative: the accounts option is ignored.
    sim = await startSimulator({ accounts: [{ name: 'other', pass: 'other-pass' }], stateFile });
    try {
      conn = await connect(sim.sender.mgmtif, { auth: { name: 'admin', pass: 'admin-pass' } });
      assert.deepEqual(await acc.rd(conn, 7), {
        id: 7,
        name: 'renamed',
        lock: true,
        perms: new Set(['x']),
      });
      const names = (await acc.ls(conn, true)).map((e) => e.name);
      assert.ok(!names.includes('victim') && !names.includes('other'));
      await conn.close();
      const anon = await connect(sim.sender.mgmtif);
      await rejectsCode(accpass(anon, 'renamed', 'target-pass'), 'SERVER_ERROR');
      await accpass(anon, 'reader', 'reader-pass');
      await anon.close();
    } finally {
      await sim.close();
    }
  });

  it('a corrupt state file is a clear error at start', async () => {
    const stateFile = join(dir, 'corrupt.json');
    await writeFile(stateFile, '{"format": "ddmw-sim-accounts", "version": 1, "accounts": [{');
    const e = await rejectsCode(startSimulator({ stateFile }), 'BAD_INPUT');
    assert.match(e.message, /state file .*corrupt/);
    await writeFile(
      stateFile,
      JSON.stringify({ format: 'ddmw-sim-accounts', version: 1, accounts: [{ id: 1, name: 'a' }] }),
    );
    const e2 = await rejectsCode(startSimulator({ stateFile }), 'BAD_INPUT');
    assert.match(e2.message, /account #1/);
  });
});
