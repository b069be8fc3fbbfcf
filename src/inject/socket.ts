/**
 * The local socket of `postern sendmail` (mode 0666: a site token authenticates every request):
 * the send API on the local channel, site tokens only. It stays with inject/ because it serves
 * nothing but the send API; the HTTPS listener, which mounts other rooms too, is app/'s.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import { createSendApi, type SendApiDeps } from './api.ts';
import { clearStaleSocket, closeServer, listenOn } from './bind.ts';

export interface SendmailSocket {
  socketPath: string;
  close(): Promise<void>;
}

export async function startSendmailSocket(o: {
  socketPath: string;
  api: Omit<SendApiDeps, 'channel' | 'mount'>;
  logger: Logger;
}): Promise<SendmailSocket> {
  const local = http.createServer(getRequestListener(createSendApi({ ...o.api, channel: 'local' }).fetch));
  local.requestTimeout = 600_000;
  local.headersTimeout = 30_000;
  local.maxConnections = 256; // local users cannot exhaust the descriptors of the process
  fs.mkdirSync(path.dirname(o.socketPath), { recursive: true });
  clearStaleSocket(o.socketPath);
  try {
    await listenOn(local, `${o.socketPath} (sendmail socket)`, o.socketPath);
  } catch (err) {
    await closeServer(local);
    throw err;
  }
  fs.chmodSync(o.socketPath, 0o666);
  o.logger.info({ evt: 'listening', listener: 'sendmail', role: 'local', socket: o.socketPath }, 'listening');
  return {
    socketPath: o.socketPath,
    async close() {
      await closeServer(local);
      clearStaleSocket(o.socketPath);
    },
  };
}
