/**
 * A stale token file (a node that was reset forgets its tokens): with a
 * name and passphrase at hand, the login falls back to them, requests a new
 * token and replaces the file; `renew` always does. Against the simulator.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { authenticateRefreshing } from '../../src/auth.ts';
import { whoami } from '../../src/conn/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { TestChild } from '../helpers/child.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { ddmwArgs } from '../helpers/ddmw.ts';
import { rejectsCode } from '../helpers/errors.ts';

const FRANK = { name: 'frank', pass: 'secret-frank' };
let sim: Simulator;
let dir: string;
const files = closedAfterFile();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-stale-token-'));
  sim = await startSimulator({ accounts: [{ ...FRANK, perms: ['*'] }] });
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

const conn = () => files.open(sim.sender.mgmtif);

it('a refused token from the file is replaced with one requested by name and passphrase', async () => {
  const tokenFile = join(dir, 'stale');
  await writeFile(tokenFile, 'forgotten-by-the-node\n');
  const c = await conn();
  const outcome = await authenticateRefreshing(c, { ...FRANK, tokenFile });
  assert.deepEqual(outcome, { stored: true, replacedStale: true });
  assert.equal((await whoami(c)).name, 'frank');
  const fresh = (await readFile(tokenFile, 'utf8')).trim();
  assert.notEqual(fresh, 'forgotten-by-the-node');
  const again = await conn();
  assert.deepEqual(await authenticateRefreshing(again, { tokenFile }), {
    stored: false,
    replacedStale: false,
  });
  assert.equal((await whoami(again)).name, 'frank', 'the stored token logs in');
});

it('without a passphrase, or with a token given directly, a refused token is an error', async () => {
  const tokenFile = join(dir, 'stale-no-pass');
  await writeFile(tokenFile, 'forgotten\n');
  await rejectsCode(
    authenticateRefreshing(await conn(), { name: 'frank', tokenFile }),
    'SERVER_ERROR',
  );
  await rejectsCode(
    authenticateRefreshing(await conn(), { ...FRANK, token: 'forgotten', tokenFile }),
    'SERVER_ERROR',
  );
  assert.equal(await readFile(tokenFile, 'utf8'), 'forgotten\n', 'the file was changed');
});

it('renew requests a new token even when the one in the file works', async () => {
  const tokenFile = join(dir, 'renewed');
  const first = await authenticateRefreshing(await conn(), { ...FRANK, tokenFile });
  assert.equal(first.stored, true);
  const before = await readFile(tokenFile, 'utf8');
  const renewed = await authenticateRefreshing(
    await conn(),
    { ...FRANK, tokenFile },
    { renew: true },
  );
  assert.deepEqual(renewed, { stored: true, replacedStale: false });
  assert.notEqual(await readFile(tokenFile, 'utf8'), before);
});

it('ddmw whoami with a stale token file says so on stderr, replaces it, and succeeds', async () => {
  const tokenFile = join(dir, 'cli-stale');
  await writeFile(tokenFile, 'forgotten\n');
  const args = ddmwArgs('--config', '/dev/null', '--name', 'frank');
  const child = new TestChild(
    'ddmw whoami',
    process.execPath,
    [...args, '--token-file', tokenFile, 'whoami', '--addr', sim.sender.mgmtif],
    { ...process.env, DDMW_PASS: FRANK.pass },
  );
  assert.deepEqual(await child.exited(), { code: 0, signal: null }, child.stderr);
  assert.match(
    child.stderr,
    /the token in .*cli-stale was refused; logged in with the passphrase and stored a new token there/,
  );
  assert.match(child.stdout, /frank/);
  assert.notEqual(await readFile(tokenFile, 'utf8'), 'forgotten\n');
});
