/** A TCP port on 127.0.0.1 that nothing listened on a moment ago. */
import { createServer } from 'node:net';

/** Listens on a port the system picks, closes it, and returns it. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}
