/**
 * Child process of the `recv.file.1GiB.peakRss` figure: subscribes, receives
 * one message with its payload stored to a file, and prints its peak RSS.
 * Usage: recv-child.ts <subif> <account> <pass> <file>
 */
import { connect } from '../src/conn/index.ts';
import { recv, subscribe } from '../src/msg/index.ts';

const [subif, name, pass, file] = process.argv.slice(2) as [string, string, string, string];
const conn = await connect(subif, { auth: { name, pass } });
await subscribe(conn, 'bench');
process.stdout.write('subscribed\n');
const m = await recv(conn, { storeq: () => ({ meta: 'bytes', payload: { file } }) });
await conn.close();
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`received ${m.payloadLen} bytes peakRssMiB=${peakRssMiB.toFixed(1)}\n`);
