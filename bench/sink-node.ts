/**
 * A sender node that takes messages and drops them: it answers the `Msg`
 * exchange as the simulator does (`Ok XferId`, the bytes, `Ok`) and does
 * nothing else with the bytes, as the raw baseline's server does nothing
 * with them. Against it, `send` is measured on its own: the library's cost
 * beside a raw socket write, without the simulator's work (framing the
 * message onto the link, the receiving end's spool) sharing the machine.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';

/** Longest request telegram taken. */
const MAX_REQUEST = 64 * 1024;

/** Serves one connection: each `Msg` request is answered, its bytes dropped. */
function serve(socket: Socket): void {
  socket.setNoDelay(true);
  let header = Buffer.alloc(0);
  /** Bytes of the current message still to drop; -1 while a request is being read. */
  let dropping = -1;
  socket.on('error', () => {}); // the client closing first is not a failure
  socket.on('data', (chunk: Buffer) => {
    let data = chunk;
    while (data.length > 0) {
      if (dropping < 0) {
        header = Buffer.concat([header, data]);
        const end = header.indexOf('\n\n');
        if (end < 0) {
          if (header.length > MAX_REQUEST) socket.destroy();
          return;
        }
        const lines = header.subarray(0, end).toString().split('\n');
        data = header.subarray(end + 2);
        header = Buffer.alloc(0);
        const len = Number(lines.find((l) => l.startsWith('Len '))?.slice(4) ?? 0);
        const metaLen = Number(lines.find((l) => l.startsWith('MetaLen '))?.slice(8) ?? 0);
        if (lines[0] !== 'Msg' || metaLen !== 0 || !(len > 0)) {
          socket.end('Fail\nReason only Msg with a payload and no metadata\n\n');
          return;
        }
        socket.write(`Ok\nXferId ${randomUUID()}\n\n`);
        dropping = len;
      } else {
        const n = Math.min(dropping, data.length);
        dropping -= n;
        data = data.subarray(n);
        if (dropping === 0) {
          socket.write('Ok\n\n');
          dropping = -1;
        }
      }
    }
  });
}

/** Starts a sink node on 127.0.0.1; returns its address and how to close it. */
export async function startSinkNode(): Promise<{ addr: string; close: () => void }> {
  const server: Server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { addr: `127.0.0.1:${port}`, close: () => server.close() };
}
