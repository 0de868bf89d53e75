/**
 * `ddmw recv` against scripted receiver nodes: signals mid-payload, a file
 * system that refuses the payload, names from hostile transfer ids,
 * metadata files, and the --exec hook's environment.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { TestChild } from '../helpers/child.ts';
import { ddmwArgs } from '../helpers/ddmw.ts';
import { waitForAsync } from '../helpers/deadline.ts';
import { type FakeServer, startFakeServer } from '../helpers/fake-server.ts';

let dir: string;
let conf: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-cli-recv-'));
  conf = join(dir, 'empty.toml');
  await writeFile(conf, '');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A receiver node that accepts the login, answers `Sub`, then writes `bytes` (and keeps the connection open). */
function node(bytes: Buffer | string): Promise<FakeServer> {
  return startFakeServer(async ({ socket, reader }) => {
    for (let tg = await reader.readTelegram(); ; tg = await reader.readTelegram()) {
      socket.write(encodeTelegram(new Telegram('Ok')));
      if (tg.topic === 'Sub') break;
    }
    socket.write(bytes);
  });
}

/** A `Msg` telegram followed by its parts. */
function msg(xferId: string, payload: Buffer | string, meta: Buffer | string = ''): Buffer {
  const header = { _Ch: 7, XferId: xferId, MetaLen: meta.length, Len: payload.length };
  return Buffer.concat([
    encodeTelegram(new Telegram('Msg', header)),
    Buffer.from(meta),
    Buffer.from(payload),
  ]);
}

/** `ddmw recv` into `out` from the node at `addr`; `limit` runs it under `ulimit -f` (KiB). */
function recv(addr: string, out: string, extra: string[] = [], limit?: number): TestChild {
  const args = [
    '--config',
    conf,
    '--name',
    'app',
    'recv',
    '--addr',
    addr,
    '--ch',
    '7',
    '--out',
    out,
    ...extra,
  ];
  const env = { ...process.env, DDMW_PASS: 'hook-must-not-see-this', DDMW_TOKEN: 'nor-this' };
  if (limit === undefined) {
    return new TestChild('ddmw recv', process.execPath, ddmwArgs(...args), env);
  }
  const script = `ulimit -f ${limit} && exec "${process.execPath}" "$@"`;
  return new TestChild(
    'ddmw recv (ulimit)',
    'bash',
    ['-c', script, 'bash', ...ddmwArgs(...args)],
    env,
  );
}

/** Waits until `out` holds a file matching `pattern`. */
async function fileAppears(child: TestChild, out: string, pattern: RegExp): Promise<void> {
  let files: string[] = [];
  const found = async () => {
    files = await readdir(out).catch(() => []);
    return files.some((f) => pattern.test(f));
  };
  const report = () => `files: ${files.join(', ')}\n${child.stderr}`;
  await waitForAsync(`a file matching ${pattern} in ${out}`, found, 20_000, report);
}

describe('ddmw recv, interrupted mid-payload', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal}: ends within a second, exit ${code}, no partial file`, async () => {
      const out = join(dir, `signal-${signal}`);
      // 10 MiB announced, 1 MiB sent: the payload is half written when the signal comes.
      const header = encodeTelegram(new Telegram('Msg', { _Ch: 7, XferId: 'big', Len: 10 << 20 }));
      const server = await node(Buffer.concat([header, Buffer.alloc(1 << 20, 1)]));
      const child = recv(server.addr, out);
      try {
        await fileAppears(child, out, /\.part$/);
        const start = Date.now();
        const exit = await child.stop(signal, 10_000);
        const ms = Date.now() - start;
        assert.deepEqual(exit, { code, signal: null }, child.stderr);
        // A second is the aim; the slack is for a loaded machine.
        assert.ok(ms < 3000, `recv took ${ms} ms to end after ${signal}`);
        assert.deepEqual(await readdir(out), [], 'files were left behind');
      } finally {
        child.kill();
        await server.close();
      }
    });
  }
});

describe('ddmw recv, storage', () => {
  it('a payload the file system refuses: one line naming the file, non-zero exit, nothing left', async () => {
    const out = join(dir, 'full');
    const server = await node(msg('too-big', Buffer.alloc(4 << 20, 2)));
    const child = recv(server.addr, out, [], 1024);
    try {
      const exit = await child.exited();
      assert.notEqual(exit.code, 0);
      const lines = child.stderr.trim().split('\n');
      const last = lines[lines.length - 1] ?? '';
      assert.match(
        last,
        /^ddmw recv: Cannot write the payload to .*full.*too-big\.payload\.part: EFBIG/,
      );
      assert.deepEqual(await readdir(out), []);
    } finally {
      child.kill();
      await server.close();
    }
  });

  it('an output folder that cannot be written is refused before subscribing', async () => {
    const notAFolder = join(dir, 'a-file');
    await writeFile(notAFolder, 'x');
    const server = await node('');
    const child = recv(server.addr, join(notAFolder, 'in'));
    try {
      const exit = await child.exited();
      assert.notEqual(exit.code, 0);
      assert.match(child.stderr, /Cannot create the folder .*a-file/);
      assert.equal(server.accepted, 0, 'it connected anyway');
    } finally {
      child.kill();
      await server.close();
    }
  });

  it('hostile and duplicate transfer ids get safe names and never overwrite', async () => {
    const out = join(dir, 'names');
    const long = 'x'.repeat(300);
    const messages = [
      msg('same', 'first'),
      msg('same', 'second'),
      msg('..', 'dots'),
      msg('../../escape', 'escape'),
      msg(long, 'long'),
    ];
    const server = await node(Buffer.concat(messages));
    const child = recv(server.addr, out, ['--json', '--count', '5']);
    try {
      assert.deepEqual(await child.exited(), { code: 0, signal: null }, child.stderr);
      const sidecars = child.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const payloads = await Promise.all(sidecars.map((s) => readFile(s.payload, 'utf8')));
      assert.deepEqual(payloads, ['first', 'second', 'dots', 'escape', 'long']);
      for (const s of sidecars) {
        assert.equal(join(out, s.payload.slice(out.length + 1)), s.payload, 'outside the folder');
        assert.ok(s.payload.length - out.length < 120, `a long name: ${s.payload}`);
      }
      assert.equal(new Set(sidecars.map((s) => s.payload)).size, 5);
    } finally {
      child.kill();
      await server.close();
    }
  });

  it('metadata goes to <id>.meta; the sidecar shows it when it is a small params block', async () => {
    const out = join(dir, 'meta');
    const params = 'name report.pdf\nsize 3\n\n';
    const raw = Buffer.alloc(200_000, 0xff);
    const server = await node(Buffer.concat([msg('p', 'pdf', params), msg('r', 'raw', raw)]));
    const hookOut = join(dir, 'hook-env');
    const hook = `env >> "${hookOut}"`;
    const child = recv(server.addr, out, ['--json', '--count', '2', '--exec', hook]);
    try {
      assert.deepEqual(await child.exited(), { code: 0, signal: null }, child.stderr);
      const [p, r] = child.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(p.meta, { name: 'report.pdf', size: '3' });
      assert.equal(await readFile(p.metaFile, 'utf8'), params);
      assert.equal(r.meta, undefined);
      assert.deepEqual(await readFile(r.metaFile), raw);
      const sidecar = await readFile(join(out, 'r.json'), 'utf8');
      assert.ok(sidecar.length < 1000, 'the sidecar holds the metadata');
      const env = await readFile(hookOut, 'utf8');
      assert.match(env, /DDMW_XFERID=p/);
      assert.doesNotMatch(env, /hook-must-not-see-this|nor-this|DDMW_PASS|DDMW_TOKEN/);
    } finally {
      child.kill();
      await server.close();
    }
  });

  it('empty payloads and metadata-only messages are stored as empty payload files', async () => {
    const out = join(dir, 'empty');
    const server = await node(
      Buffer.concat([msg('e', ''), msg('m', '', 'k v\n\n'), msg('x', 'after')]),
    );
    const child = recv(server.addr, out, ['--json', '--count', '3']);
    try {
      assert.deepEqual(await child.exited(), { code: 0, signal: null }, child.stderr);
      assert.equal(await readFile(join(out, 'e.payload'), 'utf8'), '');
      assert.equal(await readFile(join(out, 'm.payload'), 'utf8'), '');
      assert.equal(await readFile(join(out, 'm.meta'), 'utf8'), 'k v\n\n');
      assert.equal(await readFile(join(out, 'x.payload'), 'utf8'), 'after');
      const files = (await readdir(out)).sort();
      assert.deepEqual(files, [
        'e.json',
        'e.payload',
        'm.json',
        'm.meta',
        'm.payload',
        'x.json',
        'x.payload',
      ]);
    } finally {
      child.kill();
      await server.close();
    }
  });

  it('ddmw stream recv --out: names made safe, never over an earlier file', async () => {
    const out = join(dir, 'streams');
    await mkdir(out);
    const sha = createHash('sha256').update('abc').digest('hex');
    const stream = `Strm\n_Ch 7\nXferId ../../escape\n\nChunk\nLen 3\n\nabcStrmEnd\nLen 3\nSha256 ${sha}\n\n`;
    const server = await node(stream + stream);
    const args = ['--config', conf, '--name', 'app', 'stream', 'recv', '--addr', server.addr];
    const child = new TestChild(
      'ddmw stream recv',
      process.execPath,
      ddmwArgs(...args, '--ch', '7', '--count', '2', '--out', join(out, 's')),
      { ...process.env, DDMW_PASS: 'x' },
    );
    try {
      assert.deepEqual(await child.exited(), { code: 0, signal: null }, child.stderr);
      assert.deepEqual((await readdir(out)).sort(), ['s._.._.._escape', 's._.._.._escape-1']);
      assert.equal(await readFile(join(out, 's._.._.._escape-1'), 'utf8'), 'abc');
    } finally {
      child.kill();
      await server.close();
    }
  });
});
