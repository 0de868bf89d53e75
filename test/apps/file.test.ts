/**
 * File transfer (apps/files) through a simulator: content, mode and time
 * kept; names that clash; and hostile transfers (paths leaving the folder,
 * symbolic links, reserved names, a content or size that lies) refused and
 * never written, with the next file still received.
 */
import assert from 'node:assert/strict';
import {
  chmod,
  mkdir,
  readdir,
  readFile,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { file, ledger } from '../../src/apps/index.ts';
import { blather, connect, msg } from '../../src/index.ts';
import { appSimForTests } from '../helpers/app-sim.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { startFakeServer } from '../helpers/fake-server.ts';
import { sha } from '../helpers/sha.ts';

const CH = 'files';
const apps = appSimForTests();

/** A fresh folder for a test, with `in/` in it. */
const folder = () => apps.caseDir('in');

/** A receiver of `count` files into `dir`, subscribed; `done` gives its summary and events. */
async function receiving(dir: string, count: number, options: file.ReceiveOptions = {}) {
  const conn = await apps.subscriber(CH);
  const events: file.ReceiveEvent[] = [];
  const run = file
    .receive(conn, dir, { ...options, count, onEvent: (e) => events.push(e) })
    .finally(() => conn.close());
  const done = async () => {
    const seen = () => `events: ${events.map((e) => e.type).join(', ')}`;
    const summary = await within(run, 20_000, `${count} files received`, seen);
    return { summary, events };
  };
  return { done };
}

/** Sends a crafted file transfer: `fields` over those of a valid one for `content`. */
function sendCrafted(content: string, fields: Record<string, string | number>) {
  const meta = new blather.Params({
    Format: file.FILE_FORMAT,
    Path: 'crafted.txt',
    Size: Buffer.byteLength(content),
    Mode: '644',
    MTime: 0,
    Sha256: sha(Buffer.from(content)),
    ...fields,
  });
  return msg.send(apps.sender, { ch: CH, meta, payload: content === '' ? undefined : content });
}

const refusals = (events: file.ReceiveEvent[]) =>
  events.flatMap((e) => (e.type === 'refused' ? [e.error.message] : []));

describe('file transfer', () => {
  it('keeps content, relative path, mode and modification time; appends to both ledgers', async () => {
    const dir = await folder();
    const src = join(dir, 'report.bin');
    const content = Buffer.alloc(3 * 1024 * 1024 + 17, 0x42);
    await writeFile(src, content);
    await chmod(src, 0o640);
    const mtime = new Date('2025-06-01T12:00:00.123Z');
    await utimes(src, mtime, mtime);
    const sent = await ledger.Ledger.open(join(dir, 'sent.jsonl'));
    const received = await ledger.Ledger.open(join(dir, 'received.jsonl'));
    const r = await receiving(join(dir, 'in'), 2, { ledger: received });
    const progress: number[] = [];
    const one = await file.send(apps.sender, src, {
      ch: CH,
      name: 'a/b/report.bin',
      ledger: sent,
      onProgress: (done, size) => progress.push(done === size ? -done : done),
    });
    assert.deepEqual(progress, [1, 2, 3].map((i) => i * 1024 * 1024).concat(-content.length));
    await file.send(apps.sender, src, { ch: CH, ledger: sent }); // its own name
    const { summary, events } = await r.done();
    await sent.close();
    await received.close();
    assert.deepEqual(summary, { received: 2, refused: 0, failed: 0 });
    const out = join(dir, 'in', 'a', 'b', 'report.bin');
    assert.deepEqual(await readFile(out), content);
    const st = await stat(out);
    assert.equal(st.mode & 0o777, 0o640);
    // Set through a float of seconds: to the millisecond, not always to the nanosecond.
    assert.ok(Math.abs(st.mtimeMs - mtime.getTime()) < 1, `${st.mtimeMs}`);
    assert.deepEqual(await readFile(join(dir, 'in', 'report.bin')), content);
    assert.equal(events[0]?.type === 'received' && events[0].xferId, one.xferId);
    assert.equal(one.meta.sha256, sha(content));
    const r2 = await ledger.reconcile(join(dir, 'sent.jsonl'), join(dir, 'received.jsonl'));
    assert.equal(r2.matched, 2);
    assert.ok(ledger.isClean(r2));
    assert.deepEqual(await readdir(join(dir, 'in', 'a', 'b')), ['report.bin']); // no partial file left
  });

  it('sends an empty file', async () => {
    const dir = await folder();
    await writeFile(join(dir, 'empty'), '');
    const r = await receiving(join(dir, 'in'), 1);
    await file.send(apps.sender, join(dir, 'empty'), { ch: CH });
    await r.done();
    assert.equal((await readFile(join(dir, 'in', 'empty'))).length, 0);
  });

  it('keeps a file whose name is taken and numbers the new one; replaces it when asked', async () => {
    const dir = await folder();
    await writeFile(join(dir, 'in', 'x.txt'), 'old');
    await writeFile(join(dir, 'x.txt'), 'new');
    const kept = await receiving(join(dir, 'in'), 2);
    await file.send(apps.sender, join(dir, 'x.txt'), { ch: CH });
    await file.send(apps.sender, join(dir, 'x.txt'), { ch: CH });
    const { events } = await kept.done();
    assert.equal(await readFile(join(dir, 'in', 'x.txt'), 'utf8'), 'old');
    assert.equal(await readFile(join(dir, 'in', 'x (1).txt'), 'utf8'), 'new');
    assert.equal(await readFile(join(dir, 'in', 'x (2).txt'), 'utf8'), 'new');
    assert.ok(events.every((e) => e.type === 'received' && e.file.renamed));
    const replaced = await receiving(join(dir, 'in'), 1, { overwrite: true });
    await file.send(apps.sender, join(dir, 'x.txt'), { ch: CH });
    await replaced.done();
    assert.equal(await readFile(join(dir, 'in', 'x.txt'), 'utf8'), 'new');
  });

  it('refuses hostile paths and writes nothing for them, then receives the next file', async () => {
    const dir = await folder();
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await symlink(outside, join(dir, 'in', 'link'));
    const hostile = [
      '../escape.txt',
      'a/../../escape.txt',
      '/tmp/escape.txt',
      'link/escape.txt',
      'a//b.txt',
      'CON',
      'aux.txt',
      'x/',
      'back\\slash',
      'bell\u0007.txt',
      `${'d/'.repeat(70)}f`,
      'x.ddmw-part',
      'invoice\u202Etxt.exe',
      'conin$',
    ];
    const r = await receiving(join(dir, 'in'), 1);
    for (const path of hostile) await sendCrafted('evil', { Path: path });
    await writeFile(join(dir, 'good.txt'), 'good');
    await file.send(apps.sender, join(dir, 'good.txt'), { ch: CH });
    const { summary, events } = await r.done();
    assert.equal(summary.refused, hostile.length, refusals(events).join('\n'));
    assert.deepEqual(await readdir(outside), []);
    assert.deepEqual((await readdir(join(dir, 'in'))).sort(), ['good.txt', 'link']);
    assert.match(refusals(events)[3] as string, /link is a symbolic link/);
  });

  it('refuses a content that does not match its hash or size, other messages and oversized metadata', async () => {
    const dir = await folder();
    const r = await receiving(join(dir, 'in'), 1);
    await sendCrafted('tampered', { Sha256: sha(Buffer.from('original')) });
    const wrong = sha(Buffer.from('other'));
    await sendCrafted('tampered', { Path: 'made/for/it.txt', Sha256: wrong }); // its folders go too
    await sendCrafted('short', { Size: 4 });
    await sendCrafted('x', { Mode: '9' });
    await sendCrafted('x', { Format: 'something/else' });
    await sendCrafted('x', { MTime: 9_000_000_000_000_000 }); // past what a Date holds
    await msg.send(apps.sender, { ch: CH, payload: 'no metadata' });
    await msg.send(apps.sender, { ch: CH, meta: 'not params\u0000', payload: 'x' });
    await msg.send(apps.sender, {
      ch: CH,
      meta: new blather.Params({ Pad: 'p'.repeat(20_000) }),
      payload: 'x',
    });
    await writeFile(join(dir, 'good.txt'), 'good');
    await file.send(apps.sender, join(dir, 'good.txt'), { ch: CH });
    const { summary, events } = await r.done();
    const why = refusals(events);
    assert.equal(summary.refused, 9, why.join('\n'));
    assert.match(why[0] as string, /does not match its Sha256/);
    assert.match(why[1] as string, /made\/for\/it.txt: the content does not match its Sha256/);
    assert.match(why[2] as string, /Size 4 but a payload of 5 bytes/);
    assert.match(why[3] as string, /Mode/);
    assert.match(why[4] as string, /Format is not ddmw-file\/1/);
    assert.match(why[5] as string, /MTime is not milliseconds/);
    assert.match(why[6] as string, /no params metadata/);
    assert.deepEqual(await readdir(join(dir, 'in')), ['good.txt']);
  });

  it('reports a file that cannot be written as failed, leaves nothing, and goes on', async () => {
    const dir = await folder();
    // A 255-byte name, taken: its numbered form is too long for the file system (as root too).
    const long = `${'n'.repeat(251)}.txt`;
    await writeFile(join(dir, 'in', long), 'taken');
    const r = await receiving(join(dir, 'in'), 2);
    await sendCrafted('blocked', { Path: `sub/${long}`, Sha256: sha(Buffer.from('blocked')) });
    await sendCrafted('blocked', { Path: long, Sha256: sha(Buffer.from('blocked')) });
    await writeFile(join(dir, 'ok.txt'), 'ok');
    await file.send(apps.sender, join(dir, 'ok.txt'), { ch: CH });
    const { summary, events } = await r.done();
    assert.equal(summary.failed, 1, JSON.stringify(events));
    const failed = events.find((e) => e.type === 'failed');
    assert.match(failed?.type === 'failed' ? failed.error.message : '', /ENAMETOOLONG/);
    assert.deepEqual((await readdir(join(dir, 'in'))).sort(), [long, 'ok.txt', 'sub'].sort());
    assert.deepEqual(await readdir(join(dir, 'in', 'sub')), [long]);
    assert.equal(await readFile(join(dir, 'in', long), 'utf8'), 'taken');
  });

  it('refuses to send what is not a regular file, and a path no receiver would take', async () => {
    const dir = await folder();
    await assert.rejects(file.send(apps.sender, dir, { ch: CH }), /not a regular file/);
    await assert.rejects(file.send(apps.sender, join(dir, 'missing'), { ch: CH }), /ENOENT/);
    await writeFile(join(dir, 'f'), 'x');
    await assert.rejects(
      file.send(apps.sender, join(dir, 'f'), { ch: CH, name: '../f' }),
      /"\.\." part/,
    );
  });

  it('a connection lost in the middle of a file ends receive with DISCONNECTED and leaves nothing', async () => {
    const dir = await folder();
    const content = Buffer.alloc(100_000, 1);
    const meta = file.encodeFileMeta({
      path: 'cut.bin',
      size: content.length,
      mode: 0o644,
      mtimeMs: 0,
      sha256: sha(content),
    });
    const metaBytes = Buffer.from(blather.encodeParams(meta));
    const header = { _Ch: 'files', XferId: 'x1', MetaLen: metaBytes.length, Len: content.length };
    const node = await startFakeServer(async ({ socket, reader }) => {
      await reader.readTelegram(); // Sub
      socket.write(blather.encodeTelegram(new blather.Telegram('Ok')));
      socket.write(
        Buffer.concat([
          blather.encodeTelegram(new blather.Telegram('Msg', header)),
          metaBytes,
          content.subarray(0, 40_000),
        ]),
      );
      socket.destroy();
    });
    try {
      const conn = await connect(node.addr);
      await msg.subscribe(conn, CH);
      const events: file.ReceiveEvent[] = [];
      await rejectsCode(
        file.receive(conn, join(dir, 'in'), { onEvent: (e) => events.push(e) }),
        'DISCONNECTED',
      );
      await conn.close();
      assert.deepEqual(events, []);
      assert.deepEqual(await readdir(join(dir, 'in')), []);
    } finally {
      await node.close();
    }
  });
});
