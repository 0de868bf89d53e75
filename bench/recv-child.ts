/**
 * Child process of the `recv.file.1GiB.peakRss` figure: subscribes, receives
 * one message with its payload stored to a file, and prints its peak RSS.
 * Like the whole benchmark, it runs compiled (`npm run bench` compiles
 * `src/` and `bench/` with tsc), on plain Node, as an application would.
 * Usage: recv-child.js <subif> <account> <pass> <file>
 */
import { readFileSync } from 'node:fs';
import { conn as connModule, msg } from '../src/index.ts';

const [subif = '', name = '', pass = '', file = ''] = process.argv.slice(2);
const conn = await connModule.connect(subif, { auth: { name, pass } });
await msg.subscribe(conn, 'bench');
process.stdout.write('subscribed\n');
const m = await msg.recv(conn, { storeq: () => ({ meta: 'bytes', payload: { file } }) });
await conn.close();
const peakRssMiB = peakRssKiB() / 1024;
process.stdout.write(`received ${m.payloadLen} bytes peakRssMiB=${peakRssMiB.toFixed(1)}\n`);

/**
 * Peak RSS of this process in KiB. On Linux this is `VmHWM`: `maxRSS`
 * (getrusage) keeps the high-water mark across `exec`, so in a child it can
 * report the RSS the parent had when it forked, not this process's own.
 */
function peakRssKiB(): number {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]);
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS;
}
