/**
 * `npm run demo`: the whole product in one run, against the embedded
 * simulator. It probes both nodes, subscribes a receiving application to a
 * channel, sends a text message, a message with params metadata and a
 * generated 64 MiB file (with a progress bar on a terminal), and a short
 * stream, receives them all through the one-way link, checks
 * every sha-256, and prints a summary. Exits 0 only if everything verified.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { counted, progress } from '../src/cli/progress.ts';
import { blather, conn, type msg, msg as msgApi, probe, strm } from '../src/index.ts';
import { startSimulator } from '../src/sim/index.ts';

const APP = { name: 'demo-app', pass: 'demo-pass' };
const CHANNEL = 'demo';

interface Row {
  what: string;
  bytes: number;
  sent: boolean;
  received: boolean;
  verified: boolean;
  ms: number;
}

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
async function shaOfFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Wraps a file payload so that its bytes move a progress bar (shown on a terminal only). */
function withProgress(spec: msg.MsgSpec, bytes: number): { spec: msg.MsgSpec; done: () => void } {
  const payload = spec.payload;
  if (typeof payload !== 'object' || payload === null || !('file' in payload))
    return { spec, done() {} };
  const bar = progress('sending 64 MiB', bytes);
  const stream = counted(createReadStream(payload.file), bar);
  return { spec: { ...spec, payload: { stream, length: bytes } }, done: () => bar.stop() };
}

function table(rows: Row[]): string {
  const head = ['what', 'bytes', 'sent', 'received', 'sha-256', 'time', 'throughput'];
  const body = rows.map((r) => [
    r.what,
    r.bytes.toLocaleString('en'),
    r.sent ? 'yes' : 'NO',
    r.received ? 'yes' : 'NO',
    r.verified ? 'verified' : 'MISMATCH',
    `${r.ms.toFixed(0)} ms`,
    r.bytes > 1e6 ? `${(r.bytes / 1048576 / (r.ms / 1000)).toFixed(0)} MiB/s` : '',
  ]);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...body.map((b) => (b[i] as string).length)),
  );
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

const dir = await mkdtemp(join(tmpdir(), 'ddmw-demo-'));
const sim = await startSimulator({ accounts: [{ ...APP, perms: ['*'] }] });
const rows: Row[] = [];
try {
  console.log('DDMW simulator started:');
  for (const [label, addr] of [
    ['sender node  ', sim.sender.mgmtif],
    ['receiver node', sim.receiver.mgmtif],
  ] as const) {
    const c = await conn.connect(addr, { auth: APP });
    const info = await probe.getNodeInfo(c);
    console.log(
      `  ${label} ${addr}: ${info.nodeType}, DDMW ${info.version}, link ${info.ddlnk.engine} (${info.ddlnk.protocol})`,
    );
    await c.close();
  }

  // The receiving application: subscribed to the channel on the receiver node.
  const receiver = await conn.connect(sim.receiver.subif, { auth: APP });
  await msgApi.subscribe(receiver, CHANNEL);
  const sender = await conn.connect(sim.sender.msgif, { auth: APP });
  console.log(`  receiving application subscribed to channel "${CHANNEL}"\n`);

  const big = join(dir, 'generated-64MiB.bin');
  const block = randomBytes(1024 * 1024);
  await writeFile(
    big,
    Buffer.concat(
      Array.from({ length: 64 }, (_, i) =>
        Buffer.concat([block.subarray(i), block.subarray(0, i)]),
      ),
    ),
  );
  const text = 'Hello across the data diode!';
  const meta = new blather.Params({ filename: 'report.csv', rows: 3 });
  const csv = 'id,value\n1,alpha\n2,beta\n3,gamma\n';
  const cases: { what: string; spec: msg.MsgSpec; bytes: number; expect: () => Promise<string> }[] =
    [
      {
        what: 'text message',
        spec: { ch: CHANNEL, payload: text },
        bytes: text.length,
        expect: async () => sha(Buffer.from(text)),
      },
      {
        what: 'params metadata + CSV',
        spec: { ch: CHANNEL, cmd: 1, meta, payload: csv },
        bytes: csv.length,
        expect: async () => sha(Buffer.from(csv)),
      },
      {
        what: '64 MiB file',
        spec: { ch: CHANNEL, cmd: 2, payload: { file: big } },
        bytes: 64 * 1024 * 1024,
        expect: () => shaOfFile(big),
      },
    ];

  for (const c of cases) {
    const start = performance.now();
    const receiving = msgApi.recv(receiver, {
      storeq: () => ({ meta: 'params', payload: { file: join(dir, 'received.bin') } }),
    });
    const spec = withProgress(c.spec, c.bytes);
    const xferId = await msgApi.send(sender, spec.spec);
    spec.done();
    const m = await receiving;
    const ms = performance.now() - start;
    const got = m.payload?.kind === 'file' ? await shaOfFile(m.payload.path) : '';
    const metaOk =
      c.spec.meta === undefined ||
      (m.meta?.kind === 'params' && m.meta.params.get('filename') === 'report.csv');
    rows.push({
      what: c.what,
      bytes: c.bytes,
      sent: true,
      received: m.xferId === xferId,
      verified: got === (await c.expect()) && metaOk,
      ms,
    });
  }

  // A short stream: lines written one by one, read while they are still being written.
  const lines = Array.from(
    { length: 200 },
    (_, i) => `log line ${i} ${randomBytes(8).toString('hex')}\n`,
  );
  const start = performance.now();
  const arriving = msgApi.recv(receiver, { streams: true });
  arriving.catch(() => {}); // awaited below
  const writer = strm.open(sender, { ch: CHANNEL, cmd: 3 });
  const writing = pipeline(Readable.from(lines), writer);
  const event = await arriving;
  const chunks: Buffer[] = [];
  if (event.kind === 'stream') for await (const chunk of event.stream) chunks.push(chunk as Buffer);
  await writing;
  const streamed = Buffer.concat(chunks);
  const expected = Buffer.from(lines.join(''));
  rows.push({
    what: 'stream (200 log lines)',
    bytes: expected.length,
    sent: writer.length === expected.length,
    received: event.kind === 'stream' && event.xferId === writer.xferId,
    verified: sha(streamed) === sha(expected),
    ms: performance.now() - start,
  });
  await sender.close();
  await receiver.close();
} catch (err) {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
}

console.log(table(rows));
const ok = rows.length > 0 && rows.every((r) => r.sent && r.received && r.verified);
console.log(
  ok ? '\nall messages crossed the one-way link and verified' : '\nSOMETHING DID NOT VERIFY',
);
if (!ok) process.exitCode = 1;
