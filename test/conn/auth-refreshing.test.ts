/**
 * The decision order of `authenticateRefreshing`: which credential it logs
 * in with, when it requests a new token and replaces the token file (a
 * stale token from the file, or `renew`), and when it does not (a token
 * given directly, no name or passphrase, no token file, or a failure other
 * than a refusal). Against the simulator, and a scripted fake server for
 * replies the simulator never gives.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Auth, accpass, authenticateRefreshing } from '../../src/auth.ts';
import { Telegram } from '../../src/blather/index.ts';
import { whoami } from '../../src/conn/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { answerEach } from '../helpers/answer-each.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { rejectsCode } from '../helpers/errors.ts';

const FRANK = { name: 'frank', pass: 'secret-frank' };
let sim: Simulator;
let dir: string;
let serial = 0;
const files = closedAfterFile();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-auth-refreshing-'));
  sim = await startSimulator({
    accounts: [
      { ...FRANK, perms: ['*'] },
      { name: 'jane', pass: 'pj' },
    ],
  });
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

const open = () => files.open(sim.sender.mgmtif);

/** A fresh token of `name`. */
async function freshToken(name = FRANK.name, pass = FRANK.pass): Promise<string> {
  const tkn = await accpass(await open(), name, pass, true);
  assert.ok(tkn, 'the simulator gave a token');
  return tkn;
}

/** A new token file path, holding `content` if given. */
async function tokenFile(content?: string): Promise<string> {
  const path = join(dir, `token-${++serial}`);
  if (content !== undefined) await writeFile(path, content);
  return path;
}

/** Runs `authenticateRefreshing` on a new connection; returns its outcome and who is logged in. */
async function login(auth: Auth, options?: Parameters<typeof authenticateRefreshing>[2]) {
  const conn = await open();
  const outcome = await authenticateRefreshing(conn, auth, options);
  return { outcome, who: (await whoami(conn)).name };
}

const NOTHING = { stored: false, replacedStale: false };

describe('without renew', () => {
  it('a working token from the file is used; nothing is requested or stored', async () => {
    const jane = await freshToken('jane', 'pj');
    const path = await tokenFile(jane);
    assert.deepEqual(await login({ ...FRANK, tokenFile: path }), { outcome: NOTHING, who: 'jane' });
    assert.equal(await readFile(path, 'utf8'), jane);
  });
  it('a missing token file is filled with a token requested by name and passphrase', async () => {
    const path = await tokenFile();
    const { outcome, who } = await login({ ...FRANK, tokenFile: path });
    assert.deepEqual(outcome, { stored: true, replacedStale: false });
    assert.equal(who, 'frank');
    assert.match(await readFile(path, 'utf8'), /^[0-9a-f]{32}$/);
  });
  it('a stale token in the file is replaced', async () => {
    const path = await tokenFile('forgotten-by-the-node\n');
    const { outcome, who } = await login({ ...FRANK, tokenFile: path });
    assert.deepEqual(outcome, { stored: true, replacedStale: true });
    assert.equal(who, 'frank');
    const fresh = await readFile(path, 'utf8');
    assert.deepEqual(await login({ tokenFile: path }), { outcome: NOTHING, who: 'frank' });
    assert.equal(await readFile(path, 'utf8'), fresh);
  });
  it('name and passphrase without a token file: a plain login, nothing stored', async () => {
    assert.deepEqual(await login(FRANK), { outcome: NOTHING, who: 'frank' });
  });
  it('a stale token without the means to renew it is refused, the file kept', async () => {
    const path = await tokenFile('forgotten\n');
    for (const auth of [
      { name: 'frank', tokenFile: path },
      { pass: FRANK.pass, tokenFile: path },
      { ...FRANK, token: 'forgotten', tokenFile: path },
    ]) {
      await rejectsCode(authenticateRefreshing(await open(), auth), 'SERVER_ERROR');
    }
    assert.equal(await readFile(path, 'utf8'), 'forgotten\n');
  });
  it('a failure other than a refusal is not taken for a stale token', async () => {
    // The reply to the token login is not Ok or Fail (BAD_STATE). Renewing
    // would read the (missing) pass file and fail with INVALID_CREDENTIALS.
    const server = answerEach(() => new Telegram('Msg', { Len: 0 }));
    const fake = await files.fake(server.script);
    const path = await tokenFile('some-token\n');
    const auth = { name: 'frank', passFile: join(dir, 'no-such-pass'), tokenFile: path };
    await rejectsCode(authenticateRefreshing(await files.open(fake.addr), auth), 'BAD_STATE');
    assert.deepEqual(
      server.received.map((tg) => tg.params.get('Tkn')),
      ['some-token'],
    );
  });
});

describe('with renew', () => {
  it('a new token is requested and stored even when the one in the file works', async () => {
    const jane = await freshToken('jane', 'pj');
    const path = await tokenFile(jane);
    const { outcome, who } = await login({ ...FRANK, tokenFile: path }, { renew: true });
    assert.deepEqual(outcome, { stored: true, replacedStale: false });
    assert.equal(who, 'frank');
    assert.notEqual(await readFile(path, 'utf8'), jane);
  });
  it('without a name, a passphrase or a token file, or with a token given, renew does nothing more', async () => {
    const frank = await freshToken();
    const path = await tokenFile(frank);
    for (const auth of [
      { name: 'frank', tokenFile: path },
      { pass: FRANK.pass, tokenFile: path },
      { ...FRANK, token: frank, tokenFile: path },
      FRANK,
    ]) {
      assert.deepEqual(await login(auth, { renew: true }), { outcome: NOTHING, who: 'frank' });
    }
    assert.equal(await readFile(path, 'utf8'), frank);
  });
  it('a login that sends no token is MISSING_DATA, and the file is kept', async () => {
    const server = answerEach(() => new Telegram('Ok'));
    const fake = await files.fake(server.script);
    const path = await tokenFile('kept\n');
    const err = await rejectsCode(
      authenticateRefreshing(
        await files.open(fake.addr),
        { ...FRANK, tokenFile: path },
        {
          renew: true,
        },
      ),
      'MISSING_DATA',
    );
    assert.equal(err.message, 'The node accepted the login but sent no token (Tkn)');
    assert.equal(server.received[0]?.params.get('ReqTkn'), 'True');
    assert.equal(await readFile(path, 'utf8'), 'kept\n');
  });
  it('a token that cannot be stored is an IO error; the temporary file is removed', async () => {
    const sub = join(dir, 'renew-blocked');
    const path = join(sub, 'token-is-a-directory');
    await mkdir(join(path, 'inside'), { recursive: true });
    const err = await rejectsCode(
      authenticateRefreshing(await open(), { ...FRANK, tokenFile: path }, { renew: true }),
      'IO',
    );
    assert.equal(err.message, `Unable to store the new token in ${path}`);
    assert.deepEqual(await readdir(sub), ['token-is-a-directory']);
  });
});
