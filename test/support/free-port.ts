import { once } from 'node:events';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1: listen on 0, read the port, close. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (typeof address !== 'object' || address === null) throw new Error('no port assigned');
  return address.port;
}
