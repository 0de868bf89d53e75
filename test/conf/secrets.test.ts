/**
 * Secrets stay hidden: the passphrase and token of a `Config` never show in
 * `util.inspect`, `JSON.stringify`, `String()` or error messages, whether
 * of the Config, of its `auth`, of a copy such as `{ ...cfg.auth }`, or of
 * the error of a refused login; and copies still authenticate.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { format, inspect } from 'node:util';
import { Secret } from '../../src/auth.ts';
import { type Config, load, parseConfig } from '../../src/conf.ts';
import { connect, whoami } from '../../src/conn/index.ts';
import { DdmwError } from '../../src/err.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { rejectsCode } from '../helpers/errors.ts';

const PASS = 'pa55-s3cret-9f1c';
const TOKEN = 'tok-7f3a9c-e2d4';

let dir: string;
let sim: Simulator;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-secrets-'));
  sim = await startSimulator({ accounts: [{ name: 'frank', pass: PASS }] });
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

/** Loads a ddmwapp.toml with this `[auth]` section. */
async function loadAuth(lines: string[]): Promise<Config> {
  const file = join(dir, `${lines.length}-${Math.random().toString(36).slice(2)}.toml`);
  await writeFile(file, ['channel = "c"', '[auth]', ...lines, ''].join('\n'));
  const config = await load(file);
  assert.ok(config);
  return config;
}

const WITH_BOTH = ['name = "frank"', `pass = "${PASS}"`, `token = "${TOKEN}"`];

/** Asserts that no text shows a secret. */
function assertHidden(outputs: string[], ...secrets: string[]): void {
  for (const out of outputs) {
    for (const secret of secrets) assert.ok(!out.includes(secret), `secret shown: ${out}`);
  }
}

describe('a loaded Config', () => {
  it('holds the passphrase and token as Secrets, and raw holds neither', async () => {
    const config = await loadAuth(WITH_BOTH);
    assert.ok(config.auth?.pass instanceof Secret);
    assert.equal(config.auth?.pass.reveal(), PASS);
    assert.equal(config.auth?.token?.reveal(), TOKEN);
    assert.deepEqual(Object.keys(config.raw.auth ?? {}), ['name']);
  });

  it('never shows them in inspect, JSON or String output, also of copies', async () => {
    const config = await loadAuth(WITH_BOTH);
    const auth = config.auth ?? {};
    const copy = { ...auth };
    const changed = { ...auth, name: 'other' };
    const outputs = [
      inspect(config),
      inspect(config, { depth: Infinity, showHidden: true }),
      inspect(auth),
      inspect(copy),
      inspect(changed, { showHidden: true }),
      JSON.stringify(config),
      JSON.stringify(auth),
      JSON.stringify(copy),
      JSON.stringify(changed),
      JSON.stringify(config.raw),
      format('%s %o %O %j', auth.pass, copy, copy, copy),
      String(auth.pass),
      `${auth.token}`,
      `${Object.values(copy)}`,
      JSON.stringify(structuredClone(copy)),
    ];
    assertHidden(outputs, PASS, TOKEN);
    // What is not secret still shows, so the checks above could fail.
    assert.match(inspect(copy), /name: 'frank'/);
    assert.match(inspect(copy), /pass: Secret <redacted>/);
    assert.deepEqual(JSON.parse(JSON.stringify(copy)), {
      name: 'frank',
      pass: '<redacted>',
      token: '<redacted>',
    });
    assert.equal(JSON.parse(JSON.stringify(config)).auth.name, 'frank');
    assert.equal(JSON.parse(JSON.stringify(changed)).name, 'other');
  });

  it('set through the setters, hides them too', () => {
    const config = parseConfig('', 's.toml').setAuthPass(PASS).setAuthToken(new Secret(TOKEN));
    assertHidden([inspect(config), JSON.stringify({ ...config.auth })], PASS, TOKEN);
    assert.equal(config.auth?.pass?.reveal(), PASS);
    assert.equal(config.auth?.token?.reveal(), TOKEN);
  });

  it('never shows them in TOML errors', () => {
    const broken = [
      `[auth]\npass = "${PASS}" trailing`,
      `[auth]\npass = "${PASS}\nname = "x"`,
      `[auth]\ntoken = "${TOKEN}"\ntoken = "${TOKEN}"`,
      `[auth]\npass = ["${PASS}"]`,
      `[auth]\ntoken = { t = "${TOKEN}" }`,
    ];
    for (const toml of broken) {
      assert.throws(
        () => parseConfig(toml, 'a.toml'),
        (e: unknown) => {
          assert.ok(e instanceof DdmwError);
          assertHidden([e.message, inspect(e, { depth: Infinity })], PASS, TOKEN);
          return true;
        },
      );
    }
  });
});

describe('authenticating with a Config', () => {
  it('works with the auth section and with copies of it', async () => {
    const config = await loadAuth(['name = "frank"', `pass = "${PASS}"`]);
    for (const auth of [config.auth, { ...config.auth }, { ...config.auth, passFile: 'unused' }]) {
      const conn = await connect(sim.sender.msgif, { auth });
      assert.equal((await whoami(conn)).name, 'frank');
      await conn.close();
    }
  });

  it('a refused passphrase or token: the error shows neither', async () => {
    const WRONG_PASS = 'wr0ng-pa55-77aa';
    const WRONG_TOKEN = 'ffffeeeeddddccccbbbbaaaa99998888';
    const refused = [
      await loadAuth(['name = "frank"', `pass = "${WRONG_PASS}"`]),
      await loadAuth([`token = "${WRONG_TOKEN}"`]),
    ];
    for (const config of refused) {
      const err = await rejectsCode(
        connect(sim.sender.msgif, { auth: { ...config.auth } }),
        'SERVER_ERROR',
      );
      const outputs = [
        String(err),
        err.stack ?? '',
        inspect(err, { depth: Infinity, showHidden: true }),
        JSON.stringify(err),
        JSON.stringify([...(err.params ?? [])]),
      ];
      assertHidden(outputs, WRONG_PASS, WRONG_TOKEN);
      assert.match(err.message, /Authentication failed/);
      assert.match(JSON.stringify(err), /SERVER_ERROR/);
    }
  });

  it('a token file that cannot be used: the error shows no passphrase', async () => {
    const config = await loadAuth([`token-file = "${join(dir, 'none')}"`]);
    const err = await rejectsCode(
      connect(sim.sender.msgif, { auth: { ...config.auth, pass: new Secret(PASS) } }),
      'INVALID_CREDENTIALS',
    );
    assertHidden([String(err), inspect(err, { depth: Infinity })], PASS);
    assert.match(err.message, /no account name/);
  });
});

describe('Secret', () => {
  it('refuses anything but a string', () => {
    assert.throws(() => new Secret(42 as unknown as string), { code: 'BAD_INPUT' });
  });
});
