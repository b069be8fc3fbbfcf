/** Binding the local servers (the web listener, the sendmail socket): a failure names the place and the remedy. */
import fs from 'node:fs';
import type net from 'node:net';

/** A port or socket that cannot be bound: one line naming it and the remedy. */
export class WebBindError extends Error {
  constructor(where: string, code: string) {
    const remedy =
      code === 'EACCES'
        ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE; or set web.port / local.socket in postern.yaml'
        : code === 'EADDRINUSE'
          ? 'another program already listens there; stop it or set web.port / local.socket in postern.yaml'
          : 'see the system error above';
    super(`cannot listen on ${where}: ${code}: ${remedy}`);
    this.name = 'WebBindError';
  }
}

/** server.listen(...args), rejecting with a WebBindError naming `where`. */
export function listenOn(server: net.Server, where: string, ...args: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new WebBindError(where, err.code ?? err.message));
    server.once('error', onError);
    (server.listen as (...a: unknown[]) => void)(...args, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Closes a server and drops its open connections. */
export function closeServer(s: net.Server): Promise<void> {
  return new Promise<void>((r) => {
    s.close(() => r());
    (s as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

/** Removes a socket file left by a previous run (never a file that is not a socket). */
export function clearStaleSocket(p: string): void {
  try {
    if (fs.lstatSync(p).isSocket()) fs.unlinkSync(p);
  } catch {
    /* none */
  }
}
