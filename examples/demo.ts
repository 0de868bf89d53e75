/**
 * `npm run demo`: the whole product in one run, against the embedded
 * simulator. It probes both nodes, subscribes a receiving application to a
 * channel, sends a text message, a message with params metadata and a
 * generated 64 MiB file (with a progress bar on a terminal), and a short
 * stream, receives them all through the one-way link, checks
 * every sha-256, and prints a summary.
 *
 * Time limits: the whole run stops after DDMW_DEMO_TIMEOUT_MS milliseconds
 * (default 120000). Each wait (the simulator starting, a connection, each
 * send, each receive) has its own limit too: a quarter of that, half for the
 * 64 MiB file. The run also stops as soon as the simulator reports a lost,
 * corrupt, aborted or discarded transfer (a `loss` event). When it stops
 * early it says what it was waiting for and why, lists what did not arrive
 * (size, transfer id) and every loss the simulator reported.
 *
 * Temporary files (the 64 MiB file, what was received) go to a new
 * `ddmw-demo-*` folder, printed first, in DDMW_DEMO_TMPDIR (default: the
 * system's temporary folder). It is removed on every exit: success,
 * failure, time limit, error, SIGINT or SIGTERM. The simulator is closed on
 * every exit too.
 *
 * Exit code: 0 only if everything verified; 130 on SIGINT, 143 on SIGTERM;
 * 1 otherwise.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { counted, progress } from '../src/cli/progress.ts';
import { blather, conn, type msg, msg as msgApi, probe, strm } from '../src/index.ts';
import { type Simulator, startSimulator } from '../src/sim/index.ts';
import { type Item, label, newItem, shortfall, table } from './demo/items.ts';
import { Cleanup, exitWhenDone, makeTempDir, stopOnSignalsAndCrashes } from './demo/lifecycle.ts';
import { recordLosses, reportSimulatorLosses, simulatorLoss } from './demo/losses.ts';
import { errorText, Run } from './demo/run.ts';

const APP = { name: 'demo-app', pass: 'demo-pass' };
const CHANNEL = 'demo';
const DEFAULT_LIMIT_MS = 120_000;
/** Each wait's own limit, as a share of the overall one. */
const SHARE = { step: 0.25, bigFile: 0.5 };
/** Time each cleanup step (closing a connection, the simulator) may take. */
const CLEANUP_LIMIT_MS = 5000;
/** Time the process may take to end by itself after cleanup. */
const EXIT_GRACE_MS = 5000;
const BIG_BYTES = 64 * 1024 * 1024;
/** Longest delay a Node.js timer takes (longer ones fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A message to send, with what must arrive. */
interface MessageCase {
  item: Item;
  spec: msg.MsgSpec;
  sha: string;
  share: number;
  metaOk?: (m: msg.Msg) => boolean;
}

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
async function shaOfFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Writes 64 MiB of rotated random blocks to `path`; returns their sha-256. */
async function writeBigFile(path: string): Promise<string> {
  const block = randomBytes(1024 * 1024);
  const data = Buffer.concat(
    Array.from({ length: BIG_BYTES / block.length }, (_, i) =>
      Buffer.concat([block.subarray(i), block.subarray(0, i)]),
    ),
  );
  await writeFile(path, data);
  return sha(data);
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

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const limitMs = Number(process.env.DDMW_DEMO_TIMEOUT_MS || DEFAULT_LIMIT_MS);
if (!(limitMs > 0 && limitMs <= MAX_TIMER_MS)) {
  console.error(
    `DDMW_DEMO_TIMEOUT_MS must be a positive number of milliseconds, at most ${MAX_TIMER_MS}, got "${process.env.DDMW_DEMO_TIMEOUT_MS}"`,
  );
  process.exit(1);
}
const run = new Run(limitMs);
stopOnSignalsAndCrashes((why, code) => run.stop(why, code));
const cleanup = new Cleanup();
const dir = await makeTempDir(process.env.DDMW_DEMO_TMPDIR || tmpdir());
console.log(`temporary files in ${dir}`);

const text = 'Hello across the data diode!';
const csv = 'id,value\n1,alpha\n2,beta\n3,gamma\n';
const lines = Array.from(
  { length: 200 },
  (_, i) => `log line ${i} ${randomBytes(8).toString('hex')}\n`,
);
const linesBytes = Buffer.from(lines.join(''));
const items = {
  text: newItem('text message', Buffer.byteLength(text)),
  params: newItem('params metadata + CSV', Buffer.byteLength(csv)),
  file: newItem('64 MiB file', BIG_BYTES),
  stream: newItem('stream of 200 log lines', linesBytes.length),
};

/** Starts the simulator; it is closed at cleanup even if it starts only after this wait gave up. */
function startSim(): Promise<Simulator> {
  let starting: Promise<Simulator> | undefined;
  cleanup.defer('closing the simulator', async () =>
    (await starting?.catch(() => undefined))?.close(),
  );
  return run.within('the simulator to start', SHARE.step, () => {
    starting = startSimulator({ accounts: [{ ...APP, perms: ['*'] }] });
    return starting;
  });
}

/** Opens an authenticated connection, closed at cleanup. */
async function open(what: string, addr: string): Promise<conn.Connection> {
  const c = await run.within(`${what} (${addr}) to open`, SHARE.step, (signal) =>
    conn.connect(addr, { auth: APP, signal }),
  );
  cleanup.defer(`closing ${what}`, () => c.close());
  return c;
}

async function probeNodes(sim: Simulator): Promise<void> {
  console.log('DDMW simulator started:');
  for (const [node, addr] of [
    ['sender node', sim.sender.mgmtif],
    ['receiver node', sim.receiver.mgmtif],
  ] as const) {
    const c = await open(`the ${node}'s management interface`, addr);
    const info = await run.within(`the ${node}'s info`, SHARE.step, () => probe.getNodeInfo(c));
    console.log(
      `  ${node.padEnd(13)} ${addr}: ${info.nodeType}, DDMW ${info.version}, link ${info.ddlnk.engine} (${info.ddlnk.protocol})`,
    );
    await c.close();
  }
}

async function sendAndReceive(
  sender: conn.Connection,
  receiver: conn.Connection,
  c: MessageCase,
): Promise<void> {
  const { item } = c;
  const start = performance.now();
  const receiving = msgApi.recv(receiver, {
    storeq: () => ({ meta: 'params', payload: { file: join(dir, 'received.bin') } }),
  });
  receiving.catch(() => {}); // awaited below, unless the send fails first
  const sending = withProgress(c.spec, item.bytes);
  try {
    item.xferId = await run.within(`the ${label(item)} to be sent`, c.share, (signal) =>
      msgApi.send(sender, sending.spec, { signal }),
    );
  } finally {
    sending.done();
  }
  item.sent = true;
  const m = await run.within(`the ${label(item)} to arrive`, c.share, () => receiving);
  item.ms = performance.now() - start;
  item.received = m.xferId === item.xferId;
  const got = m.payload?.kind === 'file' ? await shaOfFile(m.payload.path) : '';
  item.verified = got === c.sha && (c.metaOk?.(m) ?? true);
}

/** A short stream: lines written one by one, read while they are still being written. */
async function streamLines(sender: conn.Connection, receiver: conn.Connection): Promise<void> {
  const item = items.stream;
  const start = performance.now();
  const arriving = msgApi.recv(receiver, { streams: true });
  arriving.catch(() => {}); // awaited below, unless the stream cannot be opened
  const writer = strm.open(sender, { ch: CHANNEL, cmd: 3 });
  const writing = pipeline(Readable.from(lines), writer);
  writing.catch(() => {}); // awaited below
  item.xferId = await run.within(`the ${label(item)} to open`, SHARE.step, () => writer.opened);
  const event = await run.within(`the ${label(item)} to arrive`, SHARE.step, () => arriving);
  if (event.kind !== 'stream')
    throw new Error(`message ${event.xferId} arrived instead of the ${label(item)}`);
  const streamed = await run.within(`the rest of the ${label(item)} to arrive`, SHARE.step, () =>
    collect(event.stream),
  );
  await run.within(
    `the sender node to confirm the end of the ${label(item)}`,
    SHARE.step,
    () => writing,
  );
  item.ms = performance.now() - start;
  item.sent = writer.length === item.bytes;
  item.received = event.xferId === item.xferId;
  item.verified = sha(streamed) === sha(linesBytes);
}

async function exchange(sim: Simulator): Promise<void> {
  await probeNodes(sim);
  // The receiving application: subscribed to the channel on the receiver node.
  const receiver = await open("the receiving application's connection", sim.receiver.subif);
  await run.within(`the subscription to channel "${CHANNEL}"`, SHARE.step, () =>
    msgApi.subscribe(receiver, CHANNEL),
  );
  const sender = await open("the sending application's connection", sim.sender.msgif);
  console.log(`  receiving application subscribed to channel "${CHANNEL}"\n`);

  const big = join(dir, 'generated-64MiB.bin');
  const bigSha = await run.within('the 64 MiB file to be written', SHARE.step, () =>
    writeBigFile(big),
  );
  const meta = new blather.Params({ filename: 'report.csv', rows: 3 });
  const cases: MessageCase[] = [
    {
      item: items.text,
      spec: { ch: CHANNEL, payload: text },
      sha: sha(Buffer.from(text)),
      share: SHARE.step,
    },
    {
      item: items.params,
      spec: { ch: CHANNEL, cmd: 1, meta, payload: csv },
      sha: sha(Buffer.from(csv)),
      share: SHARE.step,
      metaOk: (m) => m.meta?.kind === 'params' && m.meta.params.get('filename') === 'report.csv',
    },
    {
      item: items.file,
      spec: { ch: CHANNEL, cmd: 2, payload: { file: big } },
      sha: bigSha,
      share: SHARE.bigFile,
    },
  ];
  for (const c of cases) await sendAndReceive(sender, receiver, c);
  await streamLines(sender, receiver);
}

let sim: Simulator | undefined;
let failure: string | undefined;
try {
  const started = await startSim();
  sim = started;
  recordLosses(started);
  run.watch(() => simulatorLoss(started));
  await exchange(started);
} catch (err) {
  failure = errorText(err);
}
run.end();
failure ??= run.stopped?.why; // stopped outside any wait (an uncaught error, a late signal)

const all = Object.values(items);
const ok = failure === undefined && all.every((i) => i.sent && i.received && i.verified);
console.log(`\n${table(all)}`);
if (ok) console.log('\nall messages crossed the one-way link and verified');
else {
  console.error(`\ndemo failed: ${failure ?? 'not everything verified'}`);
  for (const line of shortfall(all)) console.error(line);
  if (sim) reportSimulatorLosses(sim);
  else console.error('the simulator had not started');
}
const problems = await cleanup.run(CLEANUP_LIMIT_MS);
for (const problem of problems) console.error(`cleanup: ${problem}`);
exitWhenDone(run.stopped?.exitCode ?? (ok && problems.length === 0 ? 0 : 1), EXIT_GRACE_MS);
