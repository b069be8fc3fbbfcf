/**
 * `postern sendmail -bs`: SMTP on standard input and output, as Symfony Mailer and Laravel use
 * sendmail by default. A small server for one local client: EHLO/HELO, MAIL, RCPT, DATA (dot
 * unstuffing), RSET, NOOP, VRFY, QUIT; each message is handed on like any other sendmail
 * message (`submit`), and its reply is the reply an SMTP client of the server would get.
 */

export interface SmtpEnvelope {
  from: string;
  to: string[];
  message: Buffer;
}

export interface StdioSmtpDeps {
  input: AsyncIterable<Buffer | string>;
  write(text: string): void;
  hostname: string;
  /** Hands one message on; resolves with the reply line ("250 2.0.0 Ok: queued as X"). */
  submit(e: SmtpEnvelope): Promise<string>;
  maxLineBytes?: number;
  /** Largest message taken (the server checks its own limit too); default 64 MiB. */
  maxMessageBytes?: number;
}

const PATH = /^(?:FROM|TO):\s*<([^<>]*)>(?:\s+.*)?$/i;

/** Splits a byte stream into lines (without their line ends). */
async function* lines(input: AsyncIterable<Buffer | string>, max: number): AsyncGenerator<Buffer> {
  let rest = Buffer.alloc(0);
  for await (const chunk of input) {
    rest = Buffer.concat([rest, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
    for (let nl = rest.indexOf(0x0a); nl !== -1; nl = rest.indexOf(0x0a)) {
      const line = rest.subarray(0, nl > 0 && rest[nl - 1] === 0x0d ? nl - 1 : nl);
      rest = rest.subarray(nl + 1);
      yield line;
    }
    if (rest.length > max) throw new Error('line too long');
  }
  if (rest.length) yield rest;
}

/** Runs the dialogue; resolves with false when it ended on a line too long (true: QUIT or the end of input). */
export async function runStdioSmtp(deps: StdioSmtpDeps): Promise<boolean> {
  const say = (line: string) => deps.write(`${line}\r\n`);
  const maxMessage = deps.maxMessageBytes ?? 64 * 1024 * 1024;
  let from: string | null = null;
  let to: string[] = [];
  let data: Buffer[] | null = null;
  let dataBytes = 0;
  let tooBig = false;
  say(`220 ${deps.hostname} ESMTP Postern sendmail`);
  try {
    for await (const raw of lines(deps.input, deps.maxLineBytes ?? 1_000_000)) {
      if (data) {
        if (raw.length === 1 && raw[0] === 0x2e) {
          const message = Buffer.concat(data);
          data = null;
          say(
            tooBig ? `552 5.3.4 Message exceeds the maximum size of ${maxMessage} bytes` : await deps.submit({ from: from!, to, message }),
          );
          from = null;
          to = [];
          continue;
        }
        dataBytes += raw.length + 2;
        if (dataBytes > maxMessage) {
          tooBig = true; // read on to the final dot, keep nothing
          data.length = 0;
          continue;
        }
        data.push(raw[0] === 0x2e ? raw.subarray(1) : raw, Buffer.from('\r\n'));
        continue;
      }
      const line = raw.toString('utf8');
      const verb = line.split(' ', 1)[0]!.toUpperCase();
      const arg = line.slice(verb.length).trim();
      switch (verb) {
        case 'EHLO':
          from = null; // EHLO, HELO and RSET end a transaction in progress (RFC 5321 4.1.4)
          to = [];
          say(`250-${deps.hostname}`);
          say('250-PIPELINING');
          say('250-8BITMIME');
          say('250 ENHANCEDSTATUSCODES');
          break;
        case 'HELO':
          from = null;
          to = [];
          say(`250 ${deps.hostname}`);
          break;
        case 'MAIL': {
          const m = PATH.exec(arg);
          if (!m || !/^FROM/i.test(arg)) {
            say('501 5.5.4 Syntax: MAIL FROM:<address>');
            break;
          }
          if (from !== null) {
            say('503 5.5.1 Error: nested MAIL command');
            break;
          }
          from = m[1]!;
          to = [];
          say('250 2.1.0 Ok');
          break;
        }
        case 'RCPT': {
          const m = PATH.exec(arg);
          if (from === null) {
            say('503 5.5.1 Error: need MAIL command');
            break;
          }
          if (!m || !/^TO/i.test(arg) || !m[1]) {
            say('501 5.5.4 Syntax: RCPT TO:<address>');
            break;
          }
          to.push(m[1]);
          say('250 2.1.5 Ok');
          break;
        }
        case 'DATA':
          if (from === null || !to.length) {
            say(`503 5.5.1 Error: need ${from === null ? 'MAIL' : 'RCPT'} command`);
            break;
          }
          data = [];
          dataBytes = 0;
          tooBig = false;
          say('354 End data with <CR><LF>.<CR><LF>');
          break;
        case 'RSET':
          from = null;
          to = [];
          say('250 2.0.0 Ok');
          break;
        case 'NOOP':
          say('250 2.0.0 Ok');
          break;
        case 'VRFY':
          say('252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery');
          break;
        case 'QUIT':
          say('221 2.0.0 Bye');
          return true;
        default:
          say('502 5.5.2 Error: command not recognized');
      }
    }
  } catch (err) {
    if ((err as Error).message !== 'line too long') throw err;
    say('500 5.5.0 Line too long');
    return false;
  }
  return true;
}
