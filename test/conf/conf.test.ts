/**
 * conf: lookup order, parsing of the standard keys, errors
 * (ddmw-client-reference.md §3.3, §6). Secrets: secrets.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { Config, load, parseConfig } from '../../src/conf.ts';
import { DdmwError } from '../../src/err.ts';
import { rejectsCode } from '../helpers/errors.ts';

/** The standard example config (a copy of the spec's ddmwapp.example.toml, kept in the repository). */
const EXAMPLE = join(import.meta.dirname, '../../examples/ddmwapp.example.toml');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-conf-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConf(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

/** Asserts that `fn` throws a CONFIG error and returns its message. */
function configMessage(fn: () => unknown): string {
  let message = '';
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DdmwError, `not a DdmwError: ${e}`);
    assert.equal(e.code, 'CONFIG');
    message = e.message;
    return true;
  });
  return message;
}

async function configMessageAsync(promise: Promise<unknown>): Promise<string> {
  let message = '';
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof DdmwError, `not a DdmwError: ${e}`);
    assert.equal(e.code, 'CONFIG');
    message = e.message;
    return true;
  });
  return message;
}

describe('load lookup order', () => {
  let savedEnv: string | undefined;
  let savedCwd: string;
  let work: string;
  beforeEach(async () => {
    savedEnv = process.env.DDMW_APPCONF;
    savedCwd = process.cwd();
    delete process.env.DDMW_APPCONF;
    work = await mkdtemp(join(dir, 'cwd-'));
    process.chdir(work);
  });
  afterEach(() => {
    process.chdir(savedCwd);
    if (savedEnv === undefined) delete process.env.DDMW_APPCONF;
    else process.env.DDMW_APPCONF = savedEnv;
  });

  it('loads an explicit path', async () => {
    const file = await writeConf('explicit.toml', 'channel = "explicit"\n');
    assert.equal((await load(file))?.channel, 'explicit');
  });
  it('loads the file named by DDMW_APPCONF', async () => {
    process.env.DDMW_APPCONF = await writeConf('env.toml', 'channel = "env"\n');
    const config = await load();
    assert.equal(config?.channel, 'env');
    assert.equal(config?.source, process.env.DDMW_APPCONF);
  });
  it('loads ./ddmwapp.toml from the working directory', async () => {
    await writeFile(join(work, 'ddmwapp.toml'), 'channel = "cwd"\n');
    assert.equal((await load())?.channel, 'cwd');
  });
  it('prefers the explicit path over DDMW_APPCONF', async () => {
    process.env.DDMW_APPCONF = await writeConf('env2.toml', 'channel = "env"\n');
    const file = await writeConf('explicit2.toml', 'channel = "explicit"\n');
    assert.equal((await load(file))?.channel, 'explicit');
  });
  it('prefers DDMW_APPCONF over ./ddmwapp.toml', async () => {
    await writeFile(join(work, 'ddmwapp.toml'), 'channel = "cwd"\n');
    process.env.DDMW_APPCONF = await writeConf('env3.toml', 'channel = "env"\n');
    assert.equal((await load())?.channel, 'env');
  });
  it('does not fall through: a missing DDMW_APPCONF file is a CONFIG error naming it, even with ./ddmwapp.toml', async () => {
    await writeFile(join(work, 'ddmwapp.toml'), 'channel = "cwd"\n');
    process.env.DDMW_APPCONF = join(dir, 'no-such.toml');
    await assert.rejects(load(), {
      code: 'CONFIG',
      message: `Config file ${join(dir, 'no-such.toml')} (named by $DDMW_APPCONF) does not exist`,
    });
  });
  it('does not fall through: a missing explicit file is a CONFIG error naming it, even with DDMW_APPCONF set', async () => {
    process.env.DDMW_APPCONF = await writeConf('env4.toml', 'channel = "env"\n');
    await assert.rejects(load(join(dir, 'missing.toml')), {
      code: 'CONFIG',
      message: `Config file ${join(dir, 'missing.toml')} does not exist`,
    });
  });
  it('treats an empty DDMW_APPCONF as unset', async () => {
    await writeFile(join(work, 'ddmwapp.toml'), 'channel = "cwd"\n');
    process.env.DDMW_APPCONF = '';
    assert.equal((await load())?.channel, 'cwd');
  });
  it('gives null when no file is named and there is no ./ddmwapp.toml', async () => {
    assert.equal(await load(), null);
  });
  it('reports an unreadable path (a directory) as IO', async () => {
    const sub = join(work, 'adir');
    await mkdir(sub);
    await rejectsCode(load(sub), 'IO');
  });
});

describe('the example file', () => {
  it('loads with every value right', async () => {
    const config = await load(EXAMPLE);
    assert.ok(config instanceof Config);
    assert.equal(config.channel, '42');
    assert.equal(config.getAppCh(), 42);
    const { pass, token, ...plain } = config.auth ?? {};
    assert.deepEqual(plain, { name: 'frank', passFile: 'passfile', tokenFile: 'tokenfile' });
    assert.equal(pass?.reveal(), 'secret');
    assert.equal(token?.reveal(), 'token');
    assert.deepEqual(config.sender, { mgmtif: '127.0.0.1:2000', msgif: '127.0.0.1:2100' });
    assert.deepEqual(config.getSenderMsgif(), { kind: 'tcp', host: '127.0.0.1', port: 2100 });
    assert.deepEqual(config.receiver, {
      mgmtif: '127.0.0.1:4000',
      subif: '127.0.0.1:4100',
      subRetries: 200,
      subRetryDelay: '1 minute',
      subRetryDelayMs: 60_000,
      pushListenif: '127.0.0.1:8080',
    });
    assert.equal(config.source, EXAMPLE);
  });
});

describe('parseConfig', () => {
  it('keeps application keys in raw', () => {
    const config = parseConfig(
      [
        'custom-string = "my-string"',
        'custom-int = 7',
        '[custom-app]',
        'another-custom-string = "string-too"',
        'another-custom-int = 11',
        '[sender]',
        'msgif = "h:1"',
        'extra = true',
      ].join('\n'),
      'app.toml',
    );
    assert.equal(config.raw['custom-string'], 'my-string');
    assert.equal(config.raw['custom-int'], 7);
    assert.deepEqual(
      { ...(config.raw['custom-app'] as object) },
      {
        'another-custom-string': 'string-too',
        'another-custom-int': 11,
      },
    );
    assert.deepEqual(config.sender, { msgif: 'h:1' }, 'unknown keys are left out of sections');
    assert.deepEqual({ ...(config.raw.sender as object) }, { msgif: 'h:1', extra: true });
  });
  it('leaves absent sections undefined', () => {
    const config = parseConfig('', 'empty.toml');
    assert.equal(config.channel, undefined);
    assert.equal(config.auth, undefined);
    assert.equal(config.sender, undefined);
    assert.equal(config.receiver, undefined);
    assert.equal(config.getAppCh(), undefined);
    assert.equal(config.getSenderMsgif(), undefined);
  });
  it('parses human durations', () => {
    const cases: [string, number][] = [
      ['30s', 30_000],
      ['1m 30s', 90_000],
      ['1m30s', 90_000],
      ['500ms', 500],
      ['2 minutes', 120_000],
      ['1h', 3_600_000],
      ['1.5 seconds', 1500],
      ['0s', 0],
    ];
    for (const [text, ms] of cases) {
      const config = parseConfig(`[receiver]\nsub-retry-delay = "${text}"\n`, 'd.toml');
      assert.equal(config.receiver?.subRetryDelayMs, ms, text);
      assert.equal(config.receiver?.subRetryDelay, text);
    }
  });
  it('rejects durations without units, with unknown units or negative', () => {
    for (const text of ['30', 'soon', '5 bananas', '1m 5 bananas', '-5s', '']) {
      const message = configMessage(() =>
        parseConfig(`[receiver]\nsub-retries = 1\nsub-retry-delay = "${text}"\n`, 'd.toml'),
      );
      assert.match(message, /d\.toml at line 3: receiver\.sub-retry-delay must be a duration/);
    }
  });
  it('accepts an integer channel 0..255 and stores its text', () => {
    const config = parseConfig('channel = 7', 'c.toml');
    assert.equal(config.channel, '7');
    assert.equal(config.getAppCh(), 7);
    for (const bad of ['channel = 256', 'channel = -1', 'channel = 1.5']) {
      assert.match(
        configMessage(() => parseConfig(bad, 'c.toml')),
        /c\.toml at line 1: channel/,
      );
    }
  });
  it('getAppCh parses numbers and names', () => {
    assert.equal(parseConfig('channel = "42"', 'c.toml').getAppCh(), 42);
    assert.equal(parseConfig('channel = "telemetry"', 'c.toml').getAppCh(), 'telemetry');
  });
  it('getAppCh reports a bad channel as CONFIG naming the key', () => {
    const config = parseConfig('\nchannel = " padded "', 'c.toml');
    assert.match(
      configMessage(() => config.getAppCh()),
      /^Invalid config in c\.toml at line 2: channel/,
    );
  });
  it('getSenderMsgif parses TCP and Unix socket addresses', () => {
    const tcp = parseConfig('[sender]\nmsgif = "[::1]:2100"', 's.toml');
    assert.deepEqual(tcp.getSenderMsgif(), { kind: 'tcp', host: '::1', port: 2100 });
    const uds = parseConfig('[sender]\nmsgif = "/run/ddmw/msg.sock"', 's.toml');
    assert.deepEqual(uds.getSenderMsgif(), { kind: 'uds', path: '/run/ddmw/msg.sock' });
  });
  it('a bad sender.msgif is reported at load as CONFIG naming the key and line', () => {
    assert.match(
      configMessage(() => parseConfig('[sender]\nmgmtif = "a:1"\nmsgif = "nope"', 's.toml')),
      /s\.toml at line 3: sender\.msgif must be an address/,
    );
  });
});

describe('errors', () => {
  it('reports broken TOML with file, line and column', async () => {
    const file = await writeConf('broken.toml', 'channel = "1"\n[sender\nmsgif = "h:1"\n');
    const message = await configMessageAsync(load(file));
    assert.ok(message.includes(file), message);
    assert.match(message, /at line 2, column \d+/);
  });
  it('names the key and its line for wrong types', () => {
    const cases: [string, RegExp][] = [
      ['[receiver]\nsub-retries = "many"', /line 2: receiver\.sub-retries must be an integer/],
      ['[receiver]\nsub-retries = -1', /line 2: receiver\.sub-retries must be an integer/],
      ['[receiver]\nsub-retries = 1.5', /receiver\.sub-retries/],
      ['[receiver]\nsub-retries = 4294967296', /receiver\.sub-retries/],
      ['[sender]\nmsgif = 5', /line 2: sender\.msgif must be a string like "host:port"/],
      ['sender.msgif = 5', /line 1: sender\.msgif must be a string/],
      ['a = 1\n\n[receiver]\n"push-listenif" = [1]', /line 4: receiver\.push-listenif .*an array/],
      ['[receiver]\nsub-retry-delay = 60', /receiver\.sub-retry-delay must be a string/],
      ['channel = true', /line 1: channel must be a string .*a boolean/],
      ['auth = "frank"', /line 1: auth must be a table/],
      ['[[sender]]\nmsgif = "h:1"', /sender must be a table/],
    ];
    for (const [text, expected] of cases) {
      const message = configMessage(() => parseConfig(text, 'types.toml'));
      assert.match(message, /^Invalid config in types\.toml/);
      assert.match(message, expected);
    }
  });
  it('omits the line when the key cannot be located', () => {
    const message = configMessage(() => parseConfig('sender = { msgif = 5 }', 't.toml'));
    assert.equal(
      message,
      'Invalid config in t.toml: sender.msgif must be a string like "host:port" or a Unix socket path (found a number)',
    );
  });
});

describe('setters', () => {
  it('fill an empty config and chain', () => {
    const config = new Config()
      .setAppCh(9)
      .setSenderMsgif('127.0.0.1:2100')
      .setAuthAccount('frank')
      .setAuthPass('hunter2')
      .setAuthPassFile('/etc/pass')
      .setAuthToken('tkn-123')
      .setAuthTokenFile('/etc/tkn');
    assert.equal(config.channel, '9');
    assert.equal(config.getAppCh(), 9);
    assert.deepEqual(config.getSenderMsgif(), { kind: 'tcp', host: '127.0.0.1', port: 2100 });
    assert.equal(config.auth?.pass?.reveal(), 'hunter2');
    assert.equal(config.auth?.token?.reveal(), 'tkn-123');
    assert.equal(config.auth?.tokenFile, '/etc/tkn');
    assert.ok(!inspect(config).includes('hunter2'));
  });
  it('keep other sender keys and accept a ProtAddr', () => {
    const config = parseConfig('[sender]\nmgmtif = "h:1"\nmsgif = "h:2"', 's.toml');
    config.setSenderMsgif({ kind: 'uds', path: '/tmp/x.sock' });
    assert.deepEqual(config.sender, { mgmtif: 'h:1', msgif: '/tmp/x.sock' });
  });
  it('validate their input', () => {
    assert.throws(() => new Config().setAppCh(256), { code: 'BAD_INPUT' });
    assert.throws(() => new Config().setSenderMsgif('no-port'), { code: 'PARSE' });
  });
});

describe('mistakes in a config file', () => {
  it('warns about unknown keys with file, line and the key they likely meant', () => {
    const text = [
      'chanel = "7"',
      'custom-app = "mine"',
      '[auth]',
      'nmae = "frank"',
      '[sender]',
      'msg-if = "127.0.0.1:1"',
      '[receiver]',
      'sub_retries = 3',
      'something-else = 1',
    ].join('\n');
    const config = parseConfig(text, 'app.toml');
    assert.deepEqual(config.warnings, [
      'app.toml:1: unknown key "chanel", ignored (did you mean "channel"?)',
      'app.toml:4: unknown key "nmae" in [auth], ignored (did you mean "name"?)',
      'app.toml:6: unknown key "msg-if" in [sender], ignored (did you mean "msgif"?)',
      'app.toml:8: unknown key "sub_retries" in [receiver], ignored (did you mean "sub-retries"?)',
      'app.toml:9: unknown key "something-else" in [receiver], ignored',
    ]);
    assert.equal(config.raw['custom-app'], 'mine', 'application keys are kept, without a warning');
  });
  it('no warnings for the example file', async () => {
    assert.deepEqual((await load(EXAMPLE))?.warnings, []);
  });
  for (const key of ['mgmtif', 'subif', 'push-listenif']) {
    it(`a malformed receiver.${key} is a CONFIG error naming the file and line`, () => {
      const text = `channel = 1\n[receiver]\n${key} = "127.0.0.1"\n`;
      assert.throws(() => parseConfig(text, 'app.toml'), {
        code: 'CONFIG',
        message: new RegExp(
          `^Invalid config in app.toml at line 3: receiver.${key} must be an address`,
        ),
      });
    });
  }
});

describe('secrets in the wrong place', () => {
  it('a top-level pass (a forgotten [auth]) is warned about and never kept', () => {
    const config = parseConfig('pass = "top-secret-1"\nchannel = 1\n', 'app.toml');
    assert.deepEqual(config.warnings, [
      'app.toml:1: "pass" is outside [auth], ignored (move it under [auth])',
    ]);
    assert.ok(!inspect(config, { depth: 9 }).includes('top-secret-1'), inspect(config));
    assert.equal(config.raw.channel, 1);
  });
  it('a misspelt secret in [auth] is warned about and not kept in raw', () => {
    const config = parseConfig('[auth]\nname = "frank"\npasswd = "top-secret-2"\n', 'app.toml');
    assert.match(config.warnings[0] ?? '', /unknown key "passwd" in \[auth\], ignored/);
    const shown = `${inspect(config, { depth: 9 })} ${JSON.stringify(config)}`;
    assert.ok(!shown.includes('top-secret-2'), shown);
    assert.match(shown, /frank/);
  });
});
