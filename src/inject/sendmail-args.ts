/**
 * The command line of `postern sendmail`, the way Postfix's and Exim's sendmail read it: -t,
 * -f ADDR / -fADDR (and the old -r), -F NAME, -i / -oi, -bm, recipients as arguments, and the
 * usual options that change nothing here (-odi, -oem, -v, -N, -R, -V, -B, -C, -L, -O, -X, -U,
 * -G, -n ...) accepted and ignored; -bs speaks SMTP on standard input and output (Symfony
 * Mailer, Laravel). Other modes (-bp, -bi, -bv, -q ...) are refused as usage errors, never
 * silently treated as "send".
 */

export interface SendmailArgs {
  /** -bm (send one message from standard input) or -bs (SMTP on standard input and output). */
  mode: 'send' | 'smtp';
  from: string | null;
  fullName: string | null;
  extract: boolean;
  /** -i / -oi: a line with a single dot does not end the message. */
  ignoreDots: boolean;
  verbose: boolean;
  recipients: string[];
  tokenFile: string | null;
}

export class UsageError extends Error {}

/** Flags that take a value (attached or as the next argument) and are ignored. */
const IGNORED_WITH_VALUE = new Set(['B', 'C', 'L', 'N', 'O', 'R', 'V', 'X', 'h', 'p']);
/** Flags without a value that are ignored. */
const IGNORED = new Set(['v', 'U', 'G', 'n', 'm', 'e', 'd', 's', 'x']);

export function parseSendmailArgs(argv: string[]): SendmailArgs {
  const a: SendmailArgs = {
    mode: 'send',
    from: null,
    fullName: null,
    extract: false,
    ignoreDots: false,
    verbose: false,
    recipients: [],
    tokenFile: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      a.recipients.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--token-file=')) {
      a.tokenFile = arg.slice('--token-file='.length);
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      a.recipients.push(arg);
      continue;
    }
    // getopt clusters of flags without a value: -ti, -it, -tv
    if (/^-[tiv]{2,}$/.test(arg)) {
      for (const f of arg.slice(1)) {
        if (f === 't') a.extract = true;
        else if (f === 'i') a.ignoreDots = true;
        else a.verbose = true;
      }
      continue;
    }
    const flag = arg[1]!;
    const attached = arg.slice(2);
    const value = (): string => {
      if (attached) return attached;
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`option -${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case 't':
        a.extract = true;
        if (attached) throw new UsageError(`unknown option ${arg}`);
        break;
      case 'i':
        a.ignoreDots = true;
        break;
      case 'f':
      case 'r':
        a.from = value();
        break;
      case 'F':
        a.fullName = value();
        break;
      case 'b': {
        const mode = attached || value();
        if (mode === 's') a.mode = 'smtp';
        else if (mode !== 'm')
          throw new UsageError(`mode -b${mode} is not supported: postern sendmail sends mail (-bm) or speaks SMTP on standard input (-bs)`);
        break;
      }
      case 'o': {
        // -oi is -i; -oA.. and the rest (-oem, -odi, -odb, -oQ...) change nothing here
        if (!attached) throw new UsageError('option -o needs a letter (e.g. -oi)');
        if (attached === 'i') a.ignoreDots = true;
        break;
      }
      case 'q':
        throw new UsageError('-q (queue runs) is not supported: the Postern server runs its queue itself');
      case 'I':
        throw new UsageError('-I (newaliases) is not supported');
      default:
        if (IGNORED_WITH_VALUE.has(flag)) {
          value();
          break;
        }
        if (IGNORED.has(flag) && !attached) {
          if (flag === 'v') a.verbose = true;
          break;
        }
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (a.mode === 'send' && !a.extract && !a.recipients.length)
    throw new UsageError('no recipients: give them as arguments or use -t to take them from To, Cc and Bcc');
  return a;
}

/**
 * The message as sendmail reads it: without -i, a line with a single dot ends it (and what
 * follows is ignored); with -i everything up to the end of input is the message.
 */
export function messageOf(input: Buffer, ignoreDots: boolean): Buffer {
  if (ignoreDots) return input;
  if (input[0] === 0x2e && (input[1] === 0x0a || (input[1] === 0x0d && input[2] === 0x0a) || input.length === 1)) return Buffer.alloc(0);
  for (let i = input.indexOf('\n.'); i !== -1; i = input.indexOf('\n.', i + 1)) {
    const after = input[i + 2];
    if (after === undefined || after === 0x0a || (after === 0x0d && input[i + 3] === 0x0a)) return input.subarray(0, i + 1);
  }
  return input;
}
