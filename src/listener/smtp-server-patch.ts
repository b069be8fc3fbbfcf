/**
 * Two adjustments to smtp-server's connection, applied once:
 * 1. Replies whose text already starts with an enhanced status code ("5.7.1 ...", from our
 *    SmtpError) are sent without the one smtp-server would add, so the wire carries exactly one.
 * 2. AUTH is advertised in the EHLO reply only once the session is encrypted (RFC 4954
 *    section 4 / RFC 8314): smtp-server lists it in cleartext too, and refuses it there.
 * 3. The greeting delay (smtp-server's fixed 100 ms early-talker wait) becomes per listener:
 *    options.greetingDelayMs, 0 for submission ports, longer on mx. A connection beyond
 *    maxClients is refused there (421 4.7.0) and told to options.onMaxClients (a metric).
 * 4. Connection slots (slots.ts): a new connection is admitted under options.slots (which may
 *    close the oldest unauthenticated one), and every chunk the client sends is told to it.
 * Covered by integration tests against the pinned smtp-server version.
 */
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { ENHANCED_PREFIX } from '../core/index.ts';
import { admit, received, type SlotConnection, type SlotRules } from './slots.ts';

interface PatchedConnection {
  send(code: number, data?: string | string[], context?: string | false): void;
  init(): void;
  connectionReady(next?: () => void): void;
  _setListeners(cb: () => void): void;
  _server: {
    options: { greetingDelayMs?: number; maxClients?: number; allowInsecureAuth?: boolean; onMaxClients?: () => void; slots?: SlotRules };
    connections: Set<unknown>;
  };
  _createParser(): PatchedParser;
  secure: boolean;
  name: string;
}

interface PatchedParser {
  _write(chunk: Buffer, encoding: string, next: (err?: Error) => void): void;
  _dataMode?: boolean;
  owner?: SlotConnection;
}

let applied = false;

export function patchSmtpServer(): void {
  if (applied) return;
  applied = true;
  const proto = SMTPConnection.prototype as unknown as PatchedConnection;
  const originalSend = proto.send;
  proto.send = function (this: PatchedConnection, code, data, context) {
    if (code === 250 && Array.isArray(data) && !this.secure && !this._server.options.allowInsecureAuth) {
      data = data.filter((line) => !line.startsWith('AUTH '));
    }
    const first = Array.isArray(data) ? data[0] : data;
    if (typeof first === 'string' && ENHANCED_PREFIX.test(first)) {
      if (Array.isArray(data) && data.length > 1) {
        // multi-line: every line must carry the code; strip it from the lines and let the
        // original add ours to each by passing it as text prefix
        const enhanced = first.slice(0, first.indexOf(' '));
        const lines = data.map((l) => (ENHANCED_PREFIX.test(l) ? l : `${enhanced} ${l}`));
        return originalSend.call(this, code, lines, false);
      }
      return originalSend.call(this, code, data, false);
    }
    return originalSend.call(this, code, data, context);
  };
  proto.init = function (this: PatchedConnection) {
    this._setListeners(() => {
      const opts = this._server.options;
      if (opts.maxClients && this._server.connections.size > opts.maxClients) {
        opts.onMaxClients?.();
        return this.send(421, `4.7.0 ${this.name} Too many connections, try again in a moment`);
      }
      if (opts.slots) admit(opts.slots, this as unknown as SlotConnection, this._server.connections as Set<SlotConnection>, Date.now());
      const delay = opts.greetingDelayMs ?? 100;
      if (delay <= 0) return this.connectionReady();
      setTimeout(() => this.connectionReady(), delay).unref();
    });
  };
  const originalCreateParser = proto._createParser;
  proto._createParser = function (this: PatchedConnection) {
    const parser = originalCreateParser.call(this);
    parser.owner = this as unknown as SlotConnection;
    return parser;
  };
  const stream = SMTPStream.prototype as unknown as PatchedParser;
  const originalWrite = stream._write;
  stream._write = function (this: PatchedParser, chunk, encoding, next) {
    if (this.owner && chunk?.length) received(this.owner, chunk, Boolean(this._dataMode), Date.now());
    return originalWrite.call(this, chunk, encoding, next);
  };
}
