/** `postern probe HOST`: which mail ports of a server work from this machine, and the setting to use. */
import net from 'node:net';
import type { Command } from 'commander';
import { probeHost, formatProbeReport } from '../../probe/index.ts';
import { CliExit, type Io, jsonText } from './output.ts';

const HOST = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9])?)*\.?$/i;

function usage(msg: string): CliExit {
  return new CliExit(64, `postern: probe: ${msg}`);
}

/** "25 465 587 2525" or "587,2525": the ports, each once, in the order given. */
export function parsePorts(s: string): number[] {
  const words = s.split(/[\s,]+/).filter(Boolean);
  if (!words.length) throw usage('--ports needs at least one port, e.g. --ports "587 2525"');
  const ports = words.map((w) => {
    const n = /^\d{1,5}$/.test(w) ? Number(w) : NaN;
    if (!(n >= 1 && n <= 65535)) throw usage(`--ports: "${w}" is not a port number (1-65535)`);
    return n;
  });
  return [...new Set(ports)];
}

function parseTimeout(s: string): number {
  const n = Number(s);
  if (!/^\d+(\.\d+)?$/.test(s.trim()) || !(n > 0 && n <= 120))
    throw usage(`--timeout: "${s}" is not a number of seconds between 0 and 120`);
  return Math.round(n * 1000);
}

function checkHost(host: string): string {
  const h = host.trim();
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(h);
  if (m && !net.isIPv6(h)) throw usage(`give the host alone and the port with --ports: postern probe ${m[1]} --ports ${m[2]}`);
  const bare = h.replace(/^\[(.*)\]$/, '$1');
  if (!net.isIP(bare) && !HOST.test(bare)) throw usage(`"${host}" is not a host name or IP address`);
  return bare;
}

export function registerProbeCommand(program: Command, io: Io): void {
  program
    .command('probe <host>')
    .description(
      'from this machine: which mail ports of HOST answer, with TLS, certificate and AUTH, and the setting to use in a mail program; exit 1 when none works',
    )
    .option('--ports <list>', 'ports to try, e.g. "25 465 587 2525" or 587,2525 (465 is spoken to with implicit TLS)', '25 465 587 2525')
    .option('--timeout <seconds>', 'per port, connection and dialogue', '5')
    .option('--servername <name>', 'the name the certificate should show (default: HOST)')
    .option('--implicit <list>', 'ports spoken to with implicit TLS (the others with STARTTLS)', '465')
    .option('--json', 'JSON output')
    .action(async (host: string, o: { ports: string; timeout: string; servername?: string; implicit: string; json?: boolean }) => {
      const target = checkHost(host);
      const ports = parsePorts(o.ports);
      const timeoutMs = parseTimeout(o.timeout);
      if (o.servername !== undefined && !HOST.test(o.servername) && !net.isIP(o.servername))
        throw usage(`--servername: "${o.servername}" is not a host name`);
      const report = await probeHost(target, { ports, timeoutMs, servername: o.servername, implicitPorts: parsePorts(o.implicit) });
      io.out(o.json ? jsonText(report) : formatProbeReport(report));
      if (!report.recommended) throw new CliExit(1);
    });
}
