/**
 * `npm run bench -- --store`: Postern on PostgreSQL (issue 7). Three parts, loopback only:
 *  1. engines: one spawned Postern on SQLite and one on PostgreSQL (a fresh schema), measured in
 *     turns end to end (each delivers to the bench's own sink) at 1 and 8 connections, 2 KiB:
 *     accepted and delivered msg/s, p50/p99 of the 250, CPU per message of Postern and of
 *     PostgreSQL, and the ratios PG/SQLite of the same run;
 *  2. nodes: two Posterns on one schema (different nodeName and ports, one secrets key file)
 *     with the load split across both, against one PostgreSQL node alone (its own schema), the
 *     same total connections;
 *  3. claim: store.queue.claim() latency with N deferred messages in the queue (bulk-filled in
 *     SQL), PostgreSQL and SQLite, with the plan of the claim statement.
 * Every schema it makes is dropped at the end (also on SIGINT/SIGTERM and errors), every child
 * it starts is stopped. Flags: see HELP in bench/lib/args.ts (--store section).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError, HELP, hostPortText, parseSize } from './lib/args.ts';
import { spawnPostern, generatedPassword, type PosternChild, type SpawnOptions } from './lib/postern-child.ts';
import { startOwnSink, type SinkCounter } from './lib/e2e.ts';
import { inTurns, turnsRow, ratioLine, TURNS_HEAD, type Setup, type SetupResult, type TurnsContext } from './lib/store-turns.ts';
import { deepPostgres, deepSqlite, deepTable, type DeepResult } from './lib/deep-queue.ts';
import {
  PG_URL,
  checkLoopbackUrl,
  makeSchema,
  dropSchema,
  dropSchemas,
  schemasLeft,
  postmasterPid,
  otherClients,
  serverFacts,
  statsReader,
} from './lib/pg-bench.ts';

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

type Part = 'engines' | 'nodes' | 'claim' | 'deep';

interface StoreOptions {
  parts: Part[];
  conns: number[]; // part 1
  nodeConns: number[]; // part 2: total connections, split across the two nodes
  deepConns: number[]; // part 4: a node on an empty schema against one on the deep queue
  rounds: number;
  messages: number;
  warmup: number;
  size: number;
  deliveryConcurrency: number;
  maxSeconds: number;
  maxTotalSeconds: number;
  deferred: number;
  sqliteDeferred: number;
  due: number;
  claims: number;
  claimLimit: number;
  pgUrl: string;
  json: boolean;
}

function parseStoreArgs(argv: string[]): StoreOptions {
  const raw = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (key === 'help') throw new UsageError(HELP);
    if (key === 'store' || key === 'json') {
      raw.set(key, 'true');
      continue;
    }
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${key} needs a value`);
    raw.set(key, value);
  }
  const known = [
    'store',
    'json',
    'parts',
    'conns',
    'node-conns',
    'rounds',
    'messages',
    'warmup',
    'size',
    'delivery-concurrency',
    'max-seconds',
    'max-total-seconds',
    'deep-conns',
    'deferred',
    'sqlite-deferred',
    'due',
    'claims',
    'claim-limit',
    'pg-url',
  ];
  for (const k of raw.keys())
    if (!known.includes(k))
      throw new UsageError(
        `unknown option --${k} with --store (${known
          .slice(2)
          .map((x) => `--${x}`)
          .join(' ')})`,
      );
  const int = (k: string, d: number, min: number, max: number) => {
    const v = raw.get(k);
    const n = v === undefined ? d : Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${k} must be a whole number in ${min}..${max}`);
    return n;
  };
  const ints = (k: string, d: string, min: number, max: number) =>
    (raw.get(k) ?? d)
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${k}: ${v} is not a whole number in ${min}..${max}`);
        return n;
      });
  const parts = (raw.get('parts') ?? 'engines nodes claim deep').split(/[\s,]+/).filter(Boolean);
  for (const p of parts)
    if (!['engines', 'nodes', 'claim', 'deep'].includes(p))
      throw new UsageError(`--parts: unknown part ${p} (engines, nodes, claim, deep)`);
  const nodeConns = ints('node-conns', '2 8', 2, 500);
  for (const n of nodeConns) if (n % 2) throw new UsageError(`--node-conns ${n}: the two nodes take half each, so it must be even`);
  const pgUrl = raw.get('pg-url') ?? PG_URL;
  try {
    checkLoopbackUrl(pgUrl);
  } catch (err) {
    throw new UsageError(`--pg-url: ${(err as Error).message}`);
  }
  const deferred = int('deferred', 1_000_000, 0, 50_000_000);
  const due = int('due', 1000, 1, 1_000_000);
  const claimLimit = int('claim-limit', 100, 1, 100_000);
  if (due < claimLimit) throw new UsageError('--due must be at least --claim-limit');
  const sizeBytes = parseSize(raw.get('size') ?? '2048');
  return {
    parts: parts as Part[],
    conns: ints('conns', '1 8', 1, 500),
    nodeConns,
    deepConns: ints('deep-conns', '8', 1, 500),
    rounds: int('rounds', 3, 1, 100),
    messages: int('messages', 2000, 1, 1_000_000),
    warmup: int('warmup', 300, 0, 100_000),
    size: sizeBytes,
    deliveryConcurrency: int('delivery-concurrency', 20, 1, 1000),
    maxSeconds: int('max-seconds', 120, 1, 3600),
    maxTotalSeconds: int('max-total-seconds', 3600, 60, 24 * 3600),
    deferred,
    sqliteDeferred: int('sqlite-deferred', deferred, 0, 50_000_000),
    due,
    claims: int('claims', 200, 1, 100_000),
    claimLimit,
    pgUrl,
    json: raw.has('json'),
  };
}

interface Run {
  o: StoreOptions;
  children: PosternChild[];
  sink: SinkCounter | null;
  tmp: string; // the shared secrets key file lives here
  keyFile: string;
  pass: string;
  ctx: TurnsContext | null;
  stats: Awaited<ReturnType<typeof statsReader>> | null;
}

const USER = 'alice@example.test';

async function spawnNode(run: Run, label: string, extra: Partial<SpawnOptions>): Promise<PosternChild> {
  const maxConns = Math.max(...run.o.conns, ...run.o.nodeConns);
  const child = await spawnPostern({
    user: USER,
    pass: run.pass,
    tls: 'starttls',
    maxConns,
    tlsCert: null,
    tlsKey: null,
    cpuProf: null,
    workers: null,
    log,
    delivery: { smarthost: hostPortText(run.sink!.address), concurrency: run.o.deliveryConcurrency },
    ...extra,
  });
  run.children.push(child);
  log(`${label}: pid ${child.pid}, port ${child.port}`);
  return child;
}

async function stopNodes(run: Run, nodes: PosternChild[]): Promise<void> {
  for (const c of nodes) {
    try {
      await c.stop();
    } finally {
      if (c.alive()) c.kill();
      fs.rmSync(c.dir, { recursive: true, force: true });
      run.children = run.children.filter((x) => x !== c);
    }
  }
}

async function ensureTurns(run: Run): Promise<TurnsContext> {
  if (run.ctx) return run.ctx;
  run.sink = await startOwnSink(log);
  const pgPid = await postmasterPid(run.o.pgUrl);
  log(`sink ${run.sink.describe}; PostgreSQL postmaster pid ${pgPid ?? 'unknown (its CPU is not counted)'}`);
  run.stats = await statsReader(run.o.pgUrl);
  const stats = run.stats;
  run.ctx = {
    sink: run.sink,
    sinkBase: run.sink.count(),
    sinkExpected: 0,
    seq: 1,
    pgPid,
    pgStats: () => stats.read(),
    user: USER,
    pass: run.pass,
    log,
  };
  return run.ctx;
}

async function warnOthers(url: string, when: string): Promise<string | null> {
  const others = (await otherClients(url)).filter((x) => x.state !== 'idle');
  if (!others.length) return null;
  const text = `${when}: other PostgreSQL clients active (${others.map((x) => `${x.app || '?'} ${x.state} x${x.n}`).join(', ')}): their work shows in the others % and the server-wide DB commits and WAL columns, not in the PostgreSQL CPU column`;
  log(`WARNING: ${text}`);
  return text;
}

/** Part 1: one Postern on SQLite against one on PostgreSQL, in turns. */
async function engines(run: Run): Promise<{ conns: number; r: [SetupResult, SetupResult] }[]> {
  const ctx = await ensureTurns(run);
  const schema = await makeSchema(run.o.pgUrl, 'engines');
  const out: { conns: number; r: [SetupResult, SetupResult] }[] = [];
  let nodes: PosternChild[] = [];
  try {
    const sqlite = await spawnNode(run, 'SQLite node', {});
    nodes.push(sqlite);
    const pgNode = await spawnNode(run, `PostgreSQL node (schema ${schema})`, {
      store: { kind: 'postgres', url: run.o.pgUrl, schema },
      nodeName: 'bench-pg',
      secretsKeyFile: run.keyFile,
    });
    nodes.push(pgNode);
    const a: Setup = { label: 'SQLite', nodes: [sqlite], pgApps: [] };
    const b: Setup = { label: 'PostgreSQL', nodes: [pgNode], pgApps: ['postern bench-pg'] };
    for (const conns of run.o.conns) {
      out.push({
        conns,
        r: await inTurns(ctx, a, b, {
          conns,
          rounds: run.o.rounds,
          messages: run.o.messages,
          warmup: run.o.warmup,
          size: run.o.size,
          maxSeconds: run.o.maxSeconds,
        }),
      });
    }
  } finally {
    await stopNodes(run, nodes);
    nodes = [];
    await dropSchema(run.o.pgUrl, schema);
    log(`schema ${schema} dropped`);
  }
  return out;
}

/** Part 2: two nodes on one schema (load split) against one node alone, same total connections. */
async function twoNodes(run: Run): Promise<{ conns: number; r: [SetupResult, SetupResult] }[]> {
  const ctx = await ensureTurns(run);
  const single = await makeSchema(run.o.pgUrl, 'single');
  const shared = await makeSchema(run.o.pgUrl, 'pair');
  const out: { conns: number; r: [SetupResult, SetupResult] }[] = [];
  const nodes: PosternChild[] = [];
  try {
    const pg = (schema: string, nodeName: string, provision = true): Partial<SpawnOptions> => ({
      store: { kind: 'postgres', url: run.o.pgUrl, schema },
      nodeName,
      secretsKeyFile: run.keyFile,
      provision,
    });
    nodes.push(await spawnNode(run, `one node (schema ${single})`, pg(single, 'bench-single')));
    nodes.push(await spawnNode(run, `node A (schema ${shared})`, pg(shared, 'bench-node-a')));
    // B finds the mailbox A provisioned: same schema, same secrets key file
    nodes.push(await spawnNode(run, `node B (schema ${shared})`, pg(shared, 'bench-node-b', false)));
    const a: Setup = { label: '1 PG node', nodes: [nodes[0]!], pgApps: ['postern bench-single'] };
    const b: Setup = { label: '2 PG nodes', nodes: [nodes[1]!, nodes[2]!], pgApps: ['postern bench-node-a', 'postern bench-node-b'] };
    for (const conns of run.o.nodeConns) {
      out.push({
        conns,
        r: await inTurns(ctx, a, b, {
          conns,
          rounds: run.o.rounds,
          messages: run.o.messages,
          warmup: run.o.warmup,
          size: run.o.size,
          maxSeconds: run.o.maxSeconds,
        }),
      });
    }
  } finally {
    await stopNodes(run, nodes);
    for (const s of [single, shared]) {
      await dropSchema(run.o.pgUrl, s);
      log(`schema ${s} dropped`);
    }
  }
  return out;
}

/** Part 4: a PostgreSQL node on an empty schema against one on the schema with the deep deferred queue, in turns. */
async function deepNodes(run: Run, deepSchema: string): Promise<{ conns: number; r: [SetupResult, SetupResult] }[]> {
  const ctx = await ensureTurns(run);
  const fresh = await makeSchema(run.o.pgUrl, 'fresh');
  const out: { conns: number; r: [SetupResult, SetupResult] }[] = [];
  const nodes: PosternChild[] = [];
  try {
    const pg = (schema: string, nodeName: string): Partial<SpawnOptions> => ({
      store: { kind: 'postgres', url: run.o.pgUrl, schema },
      nodeName,
      secretsKeyFile: run.keyFile,
    });
    nodes.push(await spawnNode(run, `empty queue (schema ${fresh})`, pg(fresh, 'bench-fresh')));
    nodes.push(await spawnNode(run, `deep queue (schema ${deepSchema})`, pg(deepSchema, 'bench-deep')));
    const a: Setup = { label: 'PG, empty queue', nodes: [nodes[0]!], pgApps: ['postern bench-fresh'] };
    const b: Setup = { label: `PG, ${run.o.deferred.toLocaleString('en')} deferred`, nodes: [nodes[1]!], pgApps: ['postern bench-deep'] };
    for (const conns of run.o.deepConns) {
      out.push({
        conns,
        r: await inTurns(ctx, a, b, {
          conns,
          rounds: run.o.rounds,
          messages: run.o.messages,
          warmup: run.o.warmup,
          size: run.o.size,
          maxSeconds: run.o.maxSeconds,
        }),
      });
    }
  } finally {
    await stopNodes(run, nodes);
    await dropSchema(run.o.pgUrl, fresh);
    log(`schema ${fresh} dropped`);
  }
  return out;
}

async function main(): Promise<number> {
  let o: StoreOptions;
  try {
    o = parseStoreArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message === HELP) {
        process.stdout.write(HELP);
        return 0;
      }
      process.stderr.write(`bench: ${err.message}\n(--help for the options)\n`);
      return 64;
    }
    throw err;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'postern-bench-store-'));
  // one secrets key for every node (as the cluster docs require), made before any node starts
  const keyFile = path.join(tmp, 'secrets.key');
  fs.writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const run: Run = { o, children: [], sink: null, tmp, keyFile, pass: generatedPassword(), ctx: null, stats: null };
  const killAll = () => {
    for (const c of run.children) c.kill();
    run.sink?.kill();
  };
  const cleanup = async () => {
    killAll();
    for (const c of run.children) fs.rmSync(c.dir, { recursive: true, force: true });
    await run.stats?.close().catch(() => undefined);
    run.stats = null;
    await dropSchemas(o.pgUrl, log);
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  const watchdog = setTimeout(() => {
    log(`watchdog: --store exceeded ${o.maxTotalSeconds} s, giving up`);
    void cleanup().finally(() => process.exit(1));
  }, o.maxTotalSeconds * 1000);
  watchdog.unref();
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => {
    killAll();
    if (schemasLeft().length) process.stderr.write(`bench: schemas left behind: ${schemasLeft().join(', ')}\n`);
  });

  const facts = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    postgres: await serverFacts(o.pgUrl),
  };
  log(`${facts.cpus} CPUs (${facts.cpuModel}), ${facts.memGiB} GiB, load ${facts.loadavg.join(' ')}; ${facts.postgres}`);
  const warnings: string[] = [];
  const w0 = await warnOthers(o.pgUrl, 'at the start');
  if (w0) warnings.push(w0);

  let part1: Awaited<ReturnType<typeof engines>> = [];
  let part2: Awaited<ReturnType<typeof twoNodes>> = [];
  const part3: DeepResult[] = [];
  let part4: Awaited<ReturnType<typeof deepNodes>> = [];
  let sinkCheck = '';
  try {
    if (o.parts.includes('engines')) {
      part1 = await engines(run);
      const w = await warnOthers(o.pgUrl, 'after part 1');
      if (w) warnings.push(w);
    }
    if (o.parts.includes('nodes')) {
      part2 = await twoNodes(run);
      const w = await warnOthers(o.pgUrl, 'after part 2');
      if (w) warnings.push(w);
    }
    if (o.parts.includes('claim') || o.parts.includes('deep')) {
      const d = { deferred: o.deferred, due: o.due, claims: o.claims, limit: o.claimLimit, log };
      part3.push(
        await deepPostgres(
          o.pgUrl,
          d,
          o.parts.includes('deep')
            ? async (schema) => {
                part4 = await deepNodes(run, schema);
              }
            : undefined,
        ),
      );
      if (o.parts.includes('claim') && o.sqliteDeferred > 0) part3.push(await deepSqlite({ ...d, deferred: o.sqliteDeferred }));
    }
    if (run.ctx) {
      const got = run.ctx.sink.count() - run.ctx.sinkBase;
      sinkCheck =
        `the sink received ${got} messages for ${run.ctx.sinkExpected} accepted` +
        (got > run.ctx.sinkExpected ? ` (${got - run.ctx.sinkExpected} MORE: duplicate deliveries)` : ' (none twice)');
      log(sinkCheck);
      await run.sink?.stop();
      run.sink = null;
    }
  } catch (err) {
    log(`failed: ${(err as Error).stack ?? err}`);
    await cleanup();
    clearTimeout(watchdog);
    return 1;
  }
  await cleanup();
  clearTimeout(watchdog);

  const lines: string[] = [];
  lines.push(
    `${facts.date}, node ${facts.node}, ${facts.cpus} CPUs (${facts.cpuModel}), ${facts.memGiB} GiB, load average at the start ${facts.loadavg.join(' ')}; ${facts.postgres}`,
  );
  lines.push(
    `Submission: reuse, STARTTLS + AUTH PLAIN, ${o.size} B messages, ${o.messages} per round after ${o.warmup} of warmup, ${o.rounds} rounds in turns (median); every node delivers to the bench's own sink (delivery concurrency ${o.deliveryConcurrency} per node).`,
  );
  lines.push(
    "PostgreSQL CPU = the backends of the nodes under test (by application_name) + PostgreSQL's background processes (WAL writer, checkpointer, autovacuum); server CPU = Postern + that; msg per server CPU-s = 1000 / server CPU ms per message; DB commits and WAL are server-wide (other clients included); others = CPU of the machine used by none of the processes measured (other sessions on the machine).",
  );
  if (part1.length) {
    lines.push('', '### One node: SQLite against PostgreSQL', '', ...TURNS_HEAD);
    for (const x of part1) lines.push(turnsRow(x.r[0], x.conns), turnsRow(x.r[1], x.conns));
    lines.push('');
    for (const x of part1) lines.push(`- ${ratioLine(x.r[0], x.r[1], x.conns)}`);
  }
  if (part2.length) {
    lines.push('', '### Two PostgreSQL nodes against one, same total connections (split evenly over the two)', '', ...TURNS_HEAD);
    for (const x of part2) lines.push(turnsRow(x.r[0], x.conns), turnsRow(x.r[1], x.conns));
    lines.push('');
    for (const x of part2) lines.push(`- ${ratioLine(x.r[0], x.r[1], x.conns)}`);
  }
  if (part4.length) {
    lines.push(
      '',
      `### A PostgreSQL node with ${o.deferred.toLocaleString('en')} deferred messages in its queue against one with an empty queue`,
      '',
      ...TURNS_HEAD,
    );
    for (const x of part4) lines.push(turnsRow(x.r[0], x.conns), turnsRow(x.r[1], x.conns));
    lines.push('');
    for (const x of part4) lines.push(`- ${ratioLine(x.r[0], x.r[1], x.conns)}`);
  }
  if (sinkCheck) lines.push('', `Deliveries: ${sinkCheck}.`);
  if (part3.length)
    lines.push(
      '',
      '### Claim with a deep deferred queue',
      '',
      deepTable(part3, { deferred: o.deferred, due: o.due, claims: o.claims, limit: o.claimLimit, log }),
    );
  if (part3.length) {
    const pgPlan = part3.find((r) => r.store === 'postgres')?.plan;
    if (pgPlan) lines.push('', 'EXPLAIN (ANALYZE, BUFFERS) of the PostgreSQL claim statement (rolled back):', '', '```', ...pgPlan, '```');
  }
  if (warnings.length) lines.push('', ...warnings.map((w) => `WARNING: ${w}`));
  const report = lines.join('\n');
  if (o.json) {
    process.stdout.write(
      JSON.stringify({ facts, options: o, engines: part1, nodes: part2, claim: part3, deep: part4, sinkCheck, warnings }) + '\n',
    );
    process.stderr.write(`\n${report}\n`);
  } else {
    process.stdout.write(`\n${report}\n`);
  }
  return 0;
}

process.exitCode = await main();
