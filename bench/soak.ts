/**
 * `npm run soak`: the full load test. 100 sender connections x 1000
 * messages each (random payloads, 100 B to 16 KiB) through the simulator to
 * one subscriber; every message carries the sha-256 of its payload and is
 * checked against it. Prints throughput,
 * losses and peak RSS; exits 1 if anything was lost or corrupted.
 * Smaller runs: `npm run soak -- <connections> <messages>`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect } from '../src/conn/index.ts';
import { messages, send, subscribe } from '../src/msg/index.ts';
import { startSimulator } from '../src/sim/index.ts';

const [connections = 100, perConnection = 1000] = process.argv.slice(2).map(Number);
const total = connections * perConnection;
const APP = { name: 'soak', pass: 'soak-pass' };
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const sim = await startSimulator({ accounts: [{ ...APP, perms: ['*'] }] });
const sub = await connect(sim.receiver.subif, { auth: APP });
await subscribe(sub, 'soak');
const seen = new Set<string>();
let bytes = 0;
const start = performance.now();

const receiving = (async () => {
  let received = 0;
  let corrupted = 0;
  for await (const m of messages(sub)) {
    // Each message carries the sha-256 of its payload as metadata.
    const payload = m.payload?.kind === 'bytes' ? m.payload.bytes : Buffer.alloc(0);
    const meta = m.meta?.kind === 'bytes' ? m.meta.bytes.toString() : '';
    if (meta !== sha(payload) || seen.has(m.xferId ?? '')) corrupted++;
    seen.add(m.xferId ?? '');
    if (++received === total) break;
  }
  return { received, corrupted };
})();

await Promise.all(
  Array.from({ length: connections }, async () => {
    const conn = await connect(sim.sender.msgif, { auth: APP });
    for (let i = 0; i < perConnection; i++) {
      const payload = randomBytes(100 + Math.floor(Math.random() * 16 * 1024));
      bytes += payload.length;
      await send(conn, { ch: 'soak', cmd: i, meta: sha(payload), payload });
    }
    await conn.close();
  }),
);
const sentMs = performance.now() - start;
const timeout = setTimeout(() => {
  console.error('soak: timed out waiting for deliveries');
  process.exit(1);
}, 120_000);
const { received, corrupted } = await receiving;
clearTimeout(timeout);
const ms = performance.now() - start;
await sub.close();
await sim.close();
const lost = total - received;
console.log(`soak: ${connections} connections x ${perConnection} messages = ${total}`);
console.log(
  `  sent in ${(sentMs / 1000).toFixed(1)} s, all received in ${(ms / 1000).toFixed(1)} s`,
);
console.log(
  `  ${(total / (ms / 1000)).toFixed(0)} messages/s, ${(bytes / 1048576 / (ms / 1000)).toFixed(1)} MiB/s`,
);
console.log(
  `  lost ${lost}, corrupted ${corrupted}, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
);
process.exitCode = lost === 0 && corrupted === 0 ? 0 : 1;
