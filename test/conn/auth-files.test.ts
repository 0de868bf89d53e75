/**
 * Credential files: reading a passphrase or token (the first line; a
 * missing, unreadable or empty file is `INVALID_CREDENTIALS` naming the
 * file), the decisions of `getPass` and `getToken`, what `accpass` and
 * `token` send, and storing a requested token (an `IO` error when it
 * cannot be stored, with no temporary file left behind). Against a
 * scripted fake server that answers each request.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accpass, authenticate, getPass, getToken, token } from '../../src/auth.ts';
import { Telegram } from '../../src/blather/index.ts';
import { answerEach } from '../helpers/answer-each.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { rejectsCode } from '../helpers/errors.ts';

const NEW_TOKEN = '0123456789abcdef0123456789abcdef';
let dir: string;
const files = closedAfterFile();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-auth-files-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A connection to a fake server answering every request with `Ok` (a token when asked for one). */
async function okServer(withToken = true) {
  const server = answerEach((tg) =>
    tg.params.has('ReqTkn') && withToken
      ? new Telegram('Ok', { Tkn: NEW_TOKEN })
      : new Telegram('Ok'),
  );
  const fake = await files.fake(server.script);
  return { conn: await files.open(fake.addr), received: server.received };
}

describe('reading a credential file', () => {
  it('a missing passphrase file names the file and the reason, keeping the cause', async () => {
    const path = join(dir, 'no-pass');
    const err = await rejectsCode(getPass({ passFile: path }), 'INVALID_CREDENTIALS');
    assert.equal(err.message, `Unable to read passphrase from file ${path} (ENOENT)`);
    assert.equal((err.cause as { code?: string }).code, 'ENOENT');
  });
  it('an empty first line is refused, naming the file', async () => {
    const path = join(dir, 'blank-pass');
    await writeFile(path, '  \r\nsecond line\n');
    const err = await rejectsCode(getPass({ passFile: path }), 'INVALID_CREDENTIALS');
    assert.equal(err.message, `The passphrase file ${path} is empty`);
    const tokenPath = join(dir, 'blank-token');
    await writeFile(tokenPath, '\n');
    const tokenErr = await rejectsCode(getToken({ tokenFile: tokenPath }), 'INVALID_CREDENTIALS');
    assert.equal(tokenErr.message, `The token file ${tokenPath} is empty`);
  });
  it('a token file that cannot be looked at is not taken for a missing one', async () => {
    const notADir = join(dir, 'plain-file');
    await writeFile(notADir, 'x');
    const path = join(notADir, 'token');
    const err = await rejectsCode(
      getToken({ tokenFile: path, name: 'frank', pass: 'p' }),
      'INVALID_CREDENTIALS',
    );
    assert.equal(err.message, `Unable to read token from file ${path}`);
    assert.equal((err.cause as { code?: string }).code, 'ENOTDIR');
  });
});

describe('getPass and getToken decisions', () => {
  it('getPass: pass, else the pass file, else an error saying what to set', async () => {
    const passFile = join(dir, 'pass');
    await writeFile(passFile, 'from-file\n');
    assert.equal(await getPass({ pass: 'given', passFile }), 'given');
    assert.equal(await getPass({ passFile }), 'from-file');
    const err = await rejectsCode(getPass({}), 'INVALID_CREDENTIALS');
    assert.equal(err.message, 'Missing passphrase: set pass or passFile');
  });
  it('a missing token file: an error without a name, or without a passphrase', async () => {
    const tokenFile = join(dir, 'no-token');
    const noName = await rejectsCode(getToken({ tokenFile, pass: 'p' }), 'INVALID_CREDENTIALS');
    assert.equal(
      noName.message,
      `Token file ${tokenFile} does not exist and no account name is set to request a token`,
    );
    const noPass = await rejectsCode(getToken({ tokenFile, name: 'frank' }), 'INVALID_CREDENTIALS');
    assert.equal(
      noPass.message,
      `Missing passphrase for token request: token file ${tokenFile} does not exist; set pass or passFile`,
    );
  });
  it('a missing token file with a name and a pass file means "request one" (undefined)', async () => {
    const tokenFile = join(dir, 'to-request');
    const passFile = join(dir, 'unread-pass');
    assert.equal(await getToken({ tokenFile, name: 'frank', passFile }), undefined);
  });
});

describe('what accpass and token send', () => {
  it('accpass asks for a token only when told to, and returns it only then', async () => {
    const { conn, received } = await okServer();
    assert.equal(await accpass(conn, 'frank', 'pw'), undefined);
    assert.equal(await accpass(conn, 'frank', 'pw', true), NEW_TOKEN);
    assert.deepEqual(
      received.map((tg) => [
        tg.topic,
        tg.params.get('AccName'),
        tg.params.get('Pass'),
        tg.params.get('ReqTkn'),
      ]),
      [
        ['Auth', 'frank', 'pw', undefined],
        ['Auth', 'frank', 'pw', 'True'],
      ],
    );
  });
  it('credentials from files are read by what they are, unreadable ones named so', async () => {
    const { conn, received } = await okServer();
    const passFile = join(dir, 'pw-file');
    await writeFile(passFile, 'pw-from-file\n');
    await accpass(conn, 'frank', { file: passFile });
    const tokenFile = join(dir, 'tkn-file');
    await writeFile(tokenFile, `${NEW_TOKEN}\n`);
    await token(conn, { file: tokenFile });
    assert.equal(received[0]?.params.get('Pass'), 'pw-from-file');
    assert.equal(received[1]?.params.get('Tkn'), NEW_TOKEN);
    const missing = join(dir, 'missing-cred');
    const passErr = await rejectsCode(
      accpass(conn, 'frank', { file: missing }),
      'INVALID_CREDENTIALS',
    );
    assert.match(passErr.message, /^Unable to read passphrase from file /);
    const tokenErr = await rejectsCode(token(conn, { file: missing }), 'INVALID_CREDENTIALS');
    assert.match(tokenErr.message, /^Unable to read token from file /);
    assert.equal(received.length, 2, 'nothing is sent without the credential');
  });
});

describe('authenticate and the token file', () => {
  it('without any credentials it says what to set, and sends nothing', async () => {
    const { conn, received } = await okServer();
    const err = await rejectsCode(authenticate(conn, { pass: 'p' }), 'INVALID_CREDENTIALS');
    assert.equal(
      err.message,
      'Missing credentials: set token, tokenFile, or name with pass/passFile',
    );
    assert.equal(received.length, 0);
  });
  it('a login that sends no token stores nothing', async () => {
    const { conn, received } = await okServer(false);
    const tokenFile = join(dir, 'never-written');
    assert.equal(await authenticate(conn, { name: 'frank', pass: 'pw', tokenFile }), undefined);
    assert.equal(received[0]?.params.get('ReqTkn'), 'True');
    await rejectsCode(getToken({ tokenFile }), 'INVALID_CREDENTIALS');
  });
  it('a token that cannot be stored is an IO error naming the file; no temporary file stays', async () => {
    const { conn } = await okServer();
    const sub = join(dir, 'store-fails');
    await mkdir(sub);
    const inMissingDir = join(sub, 'missing-dir', 'token');
    const err = await rejectsCode(
      authenticate(conn, { name: 'frank', pass: 'pw', tokenFile: inMissingDir }),
      'IO',
    );
    assert.equal(err.message, `Unable to store the new token in ${inMissingDir}`);
    assert.equal((err.cause as { code?: string }).code, 'ENOENT');
    assert.deepEqual(await readdir(sub), [], 'no temporary file');
  });
  it('a stored token is the whole file, with no temporary file left', async () => {
    const { conn } = await okServer();
    const tokenFile = join(dir, 'stored');
    assert.equal(await authenticate(conn, { name: 'frank', pass: 'pw', tokenFile }), NEW_TOKEN);
    assert.equal(await readFile(tokenFile, 'utf8'), NEW_TOKEN);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });
});
