/**
 * Connections, authentication and probing against the embedded simulator,
 * over real TCP and Unix sockets.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type as osType, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  accpass,
  authenticate,
  getPass,
  getToken,
  Secret,
  token,
  unauthenticate,
} from '../../src/auth.ts';
import { connect, whoami } from '../../src/conn/index.ts';
import { getNodeInfo } from '../../src/probe.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { rejectsCode } from '../helpers/errors.ts';

const ACCOUNTS = [
  { name: 'frank', pass: 'secret-frank', perms: ['send'] },
  { name: 'locked', pass: 'secret-locked', lock: true },
  { name: 'jane', pass: 'secret-jane' },
];

function assertNoSecret(e: unknown, ...secrets: string[]): void {
  const text = `${String(e)} ${inspect(e, { depth: 5 })}`;
  for (const s of secrets) assert.ok(!text.includes(s), `secret leaked: ${text}`);
}

let sim: Simulator;
let udsSim: Simulator;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-auth-'));
  sim = await startSimulator({ accounts: ACCOUNTS });
  udsSim = await startSimulator({ accounts: ACCOUNTS, unixSocketDir: dir });
});
after(async () => {
  await sim.close();
  await udsSim.close();
  await rm(dir, { recursive: true, force: true });
});

describe('connect', () => {
  it('over TCP and over a Unix socket', async () => {
    for (const addr of [sim.sender.msgif, udsSim.sender.msgif]) {
      const conn = await connect(addr);
      // Not logged in: the built-in unauthenticated account (id 0).
      assert.deepEqual(await whoami(conn), { id: 0, name: 'unauthenticated' });
      await conn.close();
    }
    assert.ok(udsSim.sender.msgif.includes('/'));
  });
  it('with auth, on every interface', async () => {
    for (const addr of [
      sim.sender.msgif,
      sim.sender.mgmtif,
      sim.receiver.subif,
      sim.receiver.mgmtif,
    ]) {
      const conn = await connect(addr, { auth: { name: 'frank', pass: 'secret-frank' } });
      assert.equal((await whoami(conn)).name, 'frank');
      await conn.close();
    }
  });
});

describe('whoami and unauthenticate', () => {
  it('reports the unauthenticated account, then the account, then unauthenticated again', async () => {
    const conn = await connect(sim.sender.mgmtif);
    const anon = await whoami(conn);
    await accpass(conn, 'frank', 'secret-frank');
    const frank = await whoami(conn);
    assert.equal(frank.name, 'frank');
    assert.notEqual(frank.id, anon.id);
    await unauthenticate(conn);
    assert.deepEqual(await whoami(conn), anon);
    await conn.close();
  });
});

describe('authentication paths', () => {
  it('a wrong password is SERVER_ERROR, leaks nothing, and the connection stays usable', async () => {
    const conn = await connect(sim.sender.msgif);
    const err = await rejectsCode(accpass(conn, 'frank', 'wrong-pass-123'), 'SERVER_ERROR');
    assertNoSecret(err, 'wrong-pass-123');
    await accpass(conn, 'frank', 'secret-frank');
    assert.equal((await whoami(conn)).name, 'frank');
    await conn.close();
  });
  it('a wrong password as part of connect fails the connect', async () => {
    const err = await rejectsCode(
      connect(sim.sender.msgif, { auth: { name: 'frank', pass: 'nope-nope' } }),
      'SERVER_ERROR',
    );
    assertNoSecret(err, 'nope-nope');
  });
  it('a locked account cannot authenticate', async () => {
    await rejectsCode(
      connect(sim.sender.msgif, { auth: { name: 'locked', pass: 'secret-locked' } }),
      'SERVER_ERROR',
    );
  });
  it('pass from a file', async () => {
    const passFile = join(dir, 'pass');
    await writeFile(passFile, 'secret-frank\nignored second line\n');
    const conn = await connect(sim.sender.msgif, { auth: { name: 'frank', passFile } });
    assert.equal((await whoami(conn)).name, 'frank');
    await conn.close();
  });
  it('requests a token into a missing token file (mode 0600), then reuses it', async () => {
    const tokenFile = join(dir, 'token');
    const auth = { name: 'frank', pass: 'secret-frank', tokenFile };
    const conn = await connect(sim.sender.msgif);
    const tkn = await authenticate(conn, auth);
    assert.match(tkn ?? '', /^[0-9a-f]{32}$/);
    assert.equal(await readFile(tokenFile, 'utf8'), tkn);
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
    await conn.close();
    // Second time the file exists: a token login on another interface, no new token.
    const conn2 = await connect(sim.receiver.subif);
    assert.equal(await authenticate(conn2, { tokenFile }), undefined);
    assert.equal((await whoami(conn2)).name, 'frank');
    await conn2.close();
  });
  it('token given directly, and a bad token', async () => {
    const conn = await connect(sim.sender.msgif);
    const tkn = await accpass(conn, 'frank', 'secret-frank', true);
    assert.ok(tkn);
    const conn2 = await connect(sim.receiver.mgmtif, { auth: { token: tkn } });
    assert.equal((await whoami(conn2)).name, 'frank');
    const err = await rejectsCode(token(conn2, 'f'.repeat(32)), 'SERVER_ERROR');
    assertNoSecret(err, 'f'.repeat(32), tkn);
    await conn.close();
    await conn2.close();
  });
  it('the token is preferred over the password', async () => {
    const conn = await connect(sim.sender.msgif);
    const tkn = await accpass(conn, 'frank', 'secret-frank', true);
    await conn.close();
    const conn2 = await connect(sim.sender.msgif, {
      auth: { token: tkn, name: 'frank', pass: 'wrong-but-unused' },
    });
    assert.equal((await whoami(conn2)).name, 'frank');
    await conn2.close();
  });
});

describe('a token beside an existing token file (the Rust decision order)', () => {
  /** Tokens of frank and jane, and a token file holding jane's. */
  async function tokens(): Promise<{ frank: string; jane: string; janeFile: string }> {
    const conn = await connect(sim.sender.msgif);
    const frank = await accpass(conn, 'frank', 'secret-frank', true);
    const jane = await accpass(conn, 'jane', 'secret-jane', true);
    await conn.close();
    assert.ok(frank && jane);
    const janeFile = join(await mkdtemp(join(dir, 'tokens-')), 'jane-token');
    await writeFile(janeFile, jane);
    return { frank, jane, janeFile };
  }
  const loginName = async (auth: Parameters<typeof authenticate>[1]) => {
    const conn = await connect(sim.receiver.subif, { auth });
    try {
      return (await whoami(conn)).name;
    } finally {
      await conn.close();
    }
  };

  it('the token wins; the file is neither used nor rewritten', async () => {
    const { frank, jane, janeFile } = await tokens();
    assert.equal(await loginName({ tokenFile: janeFile }), 'jane', 'the file alone is jane');
    assert.equal(await loginName({ token: frank, tokenFile: janeFile }), 'frank');
    assert.equal(await loginName({ token: new Secret(frank), tokenFile: janeFile }), 'frank');
    assert.equal(await readFile(janeFile, 'utf8'), jane);
  });
  it('a refused token does not fall back to the token file', async () => {
    const { janeFile } = await tokens();
    const err = await rejectsCode(
      connect(sim.sender.msgif, { auth: { token: 'f'.repeat(32), tokenFile: janeFile } }),
      'SERVER_ERROR',
    );
    assertNoSecret(err, 'f'.repeat(32));
  });
  it('an existing token file wins over name and passphrase, and no token is requested', async () => {
    const { jane, janeFile } = await tokens();
    const auth = { name: 'frank', pass: 'secret-frank', tokenFile: janeFile };
    const conn = await connect(sim.sender.msgif);
    assert.equal(await authenticate(conn, auth), undefined);
    assert.equal((await whoami(conn)).name, 'jane');
    await conn.close();
    assert.equal(await readFile(janeFile, 'utf8'), jane);
  });
});

describe('credential decisions (no server needed)', () => {
  it('getPass', async () => {
    assert.equal(await getPass({ pass: 'p' }), 'p');
    await rejectsCode(getPass({}), 'INVALID_CREDENTIALS');
    await rejectsCode(getPass({ passFile: join(dir, 'missing') }), 'INVALID_CREDENTIALS');
    await writeFile(join(dir, 'empty'), '');
    await rejectsCode(getPass({ passFile: join(dir, 'empty') }), 'INVALID_CREDENTIALS');
  });
  it('getToken', async () => {
    assert.equal(await getToken({ token: 't', tokenFile: '/x' }), 't');
    assert.equal(await getToken({}), undefined);
    const missing = join(dir, 'no-token');
    await rejectsCode(getToken({ tokenFile: missing }), 'INVALID_CREDENTIALS');
    await rejectsCode(getToken({ tokenFile: missing, name: 'frank' }), 'INVALID_CREDENTIALS');
    assert.equal(await getToken({ tokenFile: missing, name: 'frank', pass: 'p' }), undefined);
    await writeFile(join(dir, 'tok'), 'abc\r\n');
    assert.equal(await getToken({ tokenFile: join(dir, 'tok') }), 'abc');
  });
  it('authenticate without credentials', async () => {
    const conn = await connect(sim.sender.msgif);
    await rejectsCode(authenticate(conn, {}), 'INVALID_CREDENTIALS');
    await conn.close();
  });
});

/** This package's version, which the simulator reports by default. */
const pkgVersion = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

describe('probe', () => {
  it('node info from both nodes', async () => {
    for (const [addr, type] of [
      [sim.sender.mgmtif, 'sender'],
      [sim.receiver.mgmtif, 'receiver'],
      [sim.sender.msgif, 'sender'],
      [sim.receiver.subif, 'receiver'],
    ] as const) {
      const conn = await connect(addr);
      const info = await getNodeInfo(conn);
      assert.equal(info.nodeType, type);
      assert.equal(info.version, pkgVersion, 'the package version, by default');
      assert.equal(info.osName, osType());
      assert.equal(info.ddlnk.engine, 'ddmw-sim');
      assert.equal(info.ddlnk.protocol, 'udp');
      assert.equal(info.ddlnk.protImpl, 'generic');
      await conn.close();
    }
  });
});
