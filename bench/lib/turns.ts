/**
 * Two spawned Posterns that differ in one setting, measured in turns (A, B, A, B, ...) with the
 * same submission cell, so that both see the same machine: accepted msg/s and p99 of the final
 * "." to 250 per round, medians, and the ratio B/A. Used by `--dkim` and `--scan`.
 */
import { createMessageFactory } from './message.ts';
import { runCell } from './load.ts';
import { spawnPostern, generatedPassword, type PosternChild, type SpawnOptions } from './postern-child.ts';
import { percentile } from './report.ts';

export interface Variant {
  label: string;
  spawn: Partial<SpawnOptions>;
}
export interface TurnsOptions {
  conns: number;
  rounds: number;
  messages: number;
  size: number;
  log: (s: string) => void;
}
export interface VariantResult {
  label: string;
  rates: number[];
  p99: number[];
  rate: number;
  p99Median: number;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

export async function measureInTurns(a: Variant, b: Variant, o: TurnsOptions): Promise<[VariantResult, VariantResult]> {
  const user = 'alice@example.test';
  const pass = generatedPassword();
  const spawn = (v: Variant) =>
    spawnPostern({
      user,
      pass,
      tls: 'starttls',
      maxConns: o.conns,
      tlsCert: null,
      tlsKey: null,
      cpuProf: null,
      workers: null,
      delivery: null,
      log: o.log,
      ...v.spawn,
    });
  const children: PosternChild[] = [await spawn(a), await spawn(b)];
  const results: VariantResult[] = [a, b].map((v) => ({ label: v.label, rates: [], p99: [], rate: 0, p99Median: 0 }));
  let seq = 0;
  try {
    for (let r = 0; r < o.rounds; r++) {
      for (const i of [0, 1]) {
        const factory = createMessageFactory({ size: o.size, from: user, to: ['rcpt@remote.test'] });
        const cell = {
          mode: 'reuse' as const,
          conns: o.conns,
          factory,
          user,
          pass,
          from: user,
          to: ['rcpt@remote.test'],
          maxErrors: 20,
          maxSeconds: 120,
          connect: { host: '127.0.0.1', port: children[i]!.port, tls: 'starttls' as const, ehlo: 'bench.client.test', timeoutMs: 30_000 },
        };
        seq = (await runCell({ ...cell, messages: 300, seqStart: seq })).nextSeq; // warm up
        const out = await runCell({ ...cell, messages: o.messages, seqStart: seq });
        seq = out.nextSeq;
        if (out.aborted) throw new Error(`${results[i]!.label}: ${out.aborted}`);
        results[i]!.rates.push((out.accepted / out.elapsedMs) * 1000);
        results[i]!.p99.push(percentile(out.ackMs, 99) ?? 0);
        o.log(
          `${o.conns} conns, round ${r + 1} ${results[i]!.label}: ${results[i]!.rates.at(-1)!.toFixed(0)} msg/s, p99 ${results[i]!.p99.at(-1)!.toFixed(1)} ms`,
        );
      }
    }
  } finally {
    for (const c of children) await c.stop();
  }
  for (const x of results) {
    x.rate = median(x.rates);
    x.p99Median = median(x.p99);
  }
  return [results[0]!, results[1]!];
}

export function turnsTable(what: string, r: [VariantResult, VariantResult], o: TurnsOptions): string {
  const row = (x: VariantResult) =>
    `| ${x.label} | ${x.rate.toFixed(0)} | ${x.p99Median.toFixed(1)} | ${x.rates.map((v) => v.toFixed(0)).join(', ')} |`;
  return [
    `Submission, ${o.conns} connections (reuse), ${o.size} B, ${o.messages} messages x ${o.rounds} rounds in turns (median):`,
    '',
    `| ${what} | accepted msg/s | p99 ack ms | rounds msg/s |`,
    '| --- | ---: | ---: | --- |',
    row(r[0]),
    row(r[1]),
    '',
    `ratio ${r[1].label}/${r[0].label}: ${(r[1].rate / r[0].rate).toFixed(3)}; cost per message: ${((1000 / r[1].rate - 1000 / r[0].rate) * 1000).toFixed(0)} µs of wall time at this concurrency`,
  ].join('\n');
}
