/**
 * One delivery job (the recipients of one message at one domain): where to (a per-domain
 * route, else the smarthost, else the domain's MX hosts, filtered by its MTA-STS policy in
 * enforce mode), then one attempt over the candidate hosts with connection reuse. Returns one
 * outcome per recipient; never throws for remote trouble (DNS, TLS, SMTP all become outcomes).
 */
import type { Logger } from 'pino';
import type { DeliveryJob, RouteTls } from '../core/index.ts';
import { attemptDelivery, type AttemptTarget, type RecipientOutcome } from './attempt.ts';
import type { MxResolver, MxResult } from './mx.ts';
import { mxAllowed, type MtaSts } from './mta-sts.ts';
import type { ConnectionPool } from './pool.ts';
import type { Metrics } from '../observability/index.ts';
import type { EgressPool, EgressPools } from './egress.ts';
import type { Dane, DaneLookup } from './dane.ts';
import type { MxHost } from './mx.ts';

export interface NextHop {
  host: string;
  port: number;
  tls: RouteTls;
  auth?: { user: string; pass: string } | null;
}

export interface DelivererDeps {
  hostname: string;
  resolver: MxResolver;
  /** The domain's route as a next hop (password opened), or null; throws when it cannot tell. */
  routeFor(domain: string): Promise<NextHop | null>;
  smarthost: NextHop | null;
  mtaSts: MtaSts | null;
  pool: ConnectionPool;
  /** Port of MX hosts: 25 (tests and labs point it elsewhere). */
  mxPort: number;
  /** The stored message, as a fresh stream each call (or a body loading error). */
  body(job: DeliveryJob): Promise<() => NodeJS.ReadableStream>;
  timeouts: { connectMs: number; greetingMs: number; commandMs: number; dataMs: number };
  logger: Logger;
  /** Most addresses tried in one attempt (over all MX hosts). */
  maxTargets?: number;
  /** The duration of each attempt is observed (postern_delivery_duration_seconds). */
  metrics?: Metrics;
  /**
   * Egress pools: poolOf names the pool a job leaves from (null: the host's default address and
   * `hostname`); it throws when it cannot tell (store down), and the job is deferred.
   */
  egress?: { pools: EgressPools; poolOf(job: DeliveryJob): Promise<string | null> };
  /**
   * DANE (only when its resolver is trusted): TLSA lookups; overrides per recipient domain
   * (off: never; required: defer unless usable TLSA records, and check a route's host too).
   */
  dane?: { lookup: Dane; overrides: Record<string, 'off' | 'required'> };
}

export interface Deliverer {
  /** ctx.deadline ends the attempt in time (ms since the epoch); ctx.signal ends it at once. */
  deliver(job: DeliveryJob, ctx?: { deadline?: number; signal?: AbortSignal }): Promise<RecipientOutcome[]>;
}

type Plan =
  | { targets: AttemptTarget[]; tls: RouteTls; via: string; auth?: NextHop['auth'] }
  | { outcome: 'deferred' | 'failed'; reply: string; category: string };

const NON_ASCII = /[^\x00-\x7f]/;

export function createDeliverer(deps: DelivererDeps): Deliverer {
  const maxTargets = deps.maxTargets ?? 20;

  async function hop(hop: NextHop, via: string, domain: string): Promise<Plan> {
    const res = await deps.resolver.resolveHost(hop.host);
    if (res.kind !== 'hosts') return failure(res, via);
    let dane: AttemptTarget['dane'];
    if (deps.dane?.overrides[domain] === 'required') {
      // the operator chose this host: its own TLSA records count, whatever signs its address
      const found = await deps.dane.lookup.tlsa(hop.host, hop.port);
      if (found.kind !== 'dane' && found.kind !== 'encrypt') {
        return {
          outcome: 'deferred',
          category: 'tls',
          reply: `451 4.7.5 DANE is required for ${domain} (delivery.daneDomains) but ${found.why} (${via})`,
        };
      }
      dane = { host: hop.host, records: found.kind === 'dane' ? found.records : [], names: [hop.host] };
    }
    const targets = res.hosts.flatMap((h) =>
      h.addresses.map((a) => ({ host: a, port: hop.port, name: hop.host, ...(dane ? { dane } : {}) })),
    );
    return { targets: targets.slice(0, maxTargets), tls: hop.tls, via: dane ? `${via} (DANE)` : via, auth: hop.auth ?? null };
  }

  /**
   * DANE for the MX hosts of a domain: null when it does not apply (off, unsigned MX, no TLSA
   * anywhere); else the hosts to try with their records, hosts whose lookup failed left out.
   */
  async function daneOf(
    domain: string,
    hosts: MxHost[],
  ): Promise<{ hosts: { host: MxHost; found: DaneLookup }[] } | Extract<Plan, { outcome: string }> | null> {
    const override = deps.dane?.overrides[domain];
    if (!deps.dane || override === 'off') return null;
    const required = override === 'required';
    const implicit = hosts.every((h) => h.implicit);
    const sec = await deps.dane.lookup.secure(domain, implicit ? 'A' : 'MX');
    if (!sec.secure) {
      if (!required) return null;
      return {
        outcome: 'deferred',
        category: 'tls',
        reply: `451 4.7.5 DANE is required for ${domain} (delivery.daneDomains) but its ${implicit ? 'address' : 'MX'} records are not DNSSEC-validated${sec.failed ? ' (the lookup failed)' : ''}`,
      };
    }
    // RFC 7672 section 2.2.2: a host whose address records are not validated gets no TLSA lookup
    const found = await Promise.all(
      hosts.map(async (host): Promise<{ host: MxHost; found: DaneLookup }> => {
        const addr = host.implicit ? sec : await deps.dane!.lookup.secure(host.name, 'A');
        if (!addr.secure) return { host, found: { kind: 'none', why: `the addresses of ${host.name} are not DNSSEC-validated` } };
        return { host, found: await deps.dane!.lookup.tlsa(host.name, deps.mxPort) };
      }),
    );
    const withDane = found.filter((f) => f.found.kind === 'dane' || f.found.kind === 'encrypt');
    const failed = found.filter((f) => f.found.kind === 'defer');
    if (!withDane.length && !failed.length) {
      if (!required) return null;
      return {
        outcome: 'deferred',
        category: 'tls',
        reply: `451 4.7.5 DANE is required for ${domain} (delivery.daneDomains) but no MX host has usable TLSA records`,
      };
    }
    const kept = found.filter((f) => f.found.kind !== 'defer' && (!required || f.found.kind !== 'none'));
    if (!kept.length) {
      return {
        outcome: 'deferred',
        category: 'tls',
        reply: `451 4.7.5 DANE: ${failed.map((f) => (f.found as { why: string }).why).join('; ')}`,
      };
    }
    for (const f of failed)
      deps.logger.warn(
        { evt: 'dane', domain, host: f.host.name, why: (f.found as { why: string }).why },
        'MX host skipped: its TLSA lookup failed',
      );
    return { hosts: kept };
  }

  async function plan(domain: string): Promise<Plan> {
    let route: NextHop | null;
    try {
      route = await deps.routeFor(domain);
    } catch (err) {
      return {
        outcome: 'deferred',
        category: 'other',
        reply: `451 4.3.0 the route of ${domain} cannot be used: ${(err as Error).message}`,
      };
    }
    if (route) return hop(route, `route ${route.host}:${route.port}`, domain);
    if (deps.smarthost) return hop(deps.smarthost, `smarthost ${deps.smarthost.host}:${deps.smarthost.port}`, domain);
    const res = await deps.resolver.resolve(domain);
    if (res.kind !== 'hosts') return failure(res, `MX of ${domain}`);
    // DANE takes precedence over MTA-STS (RFC 8461 section 2)
    const dane = await daneOf(domain, res.hosts);
    if (dane && 'outcome' in dane) return dane;
    if (dane) {
      const targets = dane.hosts.flatMap(({ host, found }) =>
        host.addresses.map((a) => ({
          host: a,
          port: deps.mxPort,
          name: host.name,
          ...(found.kind === 'dane' || found.kind === 'encrypt'
            ? { dane: { host: host.name, records: found.kind === 'dane' ? found.records : [], names: [host.name, domain] } }
            : {}),
        })),
      );
      return { targets: targets.slice(0, maxTargets), tls: 'opportunistic', via: `MX of ${domain} (DANE)` };
    }
    let hosts = res.hosts;
    let tls: RouteTls = 'opportunistic';
    const policy = deps.mtaSts ? await deps.mtaSts.policyFor(domain) : null;
    if (policy && policy.mode !== 'none') {
      const allowed = hosts.filter((h) => !h.implicit && mxAllowed(policy, h.name));
      if (policy.mode === 'enforce') {
        if (!allowed.length) {
          return {
            outcome: 'deferred',
            category: 'tls',
            reply: `451 4.7.5 no MX host of ${domain} matches its MTA-STS policy (enforce): ${hosts.map((h) => h.name).join(', ')}`,
          };
        }
        hosts = allowed;
        tls = 'required';
      } else if (allowed.length < hosts.length) {
        deps.logger.warn(
          { evt: 'mta-sts', domain, mode: policy.mode, outside: hosts.filter((h) => !allowed.includes(h)).map((h) => h.name) },
          'MX hosts outside the MTA-STS policy (testing mode: delivering anyway)',
        );
      }
    }
    const targets = hosts.flatMap((h) => h.addresses.map((a) => ({ host: a, port: deps.mxPort, name: h.name })));
    return { targets: targets.slice(0, maxTargets), tls, via: `MX of ${domain}${tls === 'required' ? ' (MTA-STS enforce)' : ''}` };
  }

  /** The job's egress pool, null for none, or why the job cannot leave now. */
  async function egressOf(job: DeliveryJob): Promise<EgressPool | null | Extract<Plan, { outcome: string }>> {
    if (!deps.egress) return null;
    let name: string | null;
    try {
      name = await deps.egress.poolOf(job);
    } catch (err) {
      return {
        outcome: 'deferred',
        category: 'other',
        reply: `451 4.3.0 the egress pool of this message cannot be told: ${(err as Error).message}`,
      };
    }
    if (name === null) return null;
    const pool = deps.egress.pools.get(name);
    // never leave from another pool's (or the host's) address instead: that is what pools prevent
    return pool ?? { outcome: 'deferred', category: 'other', reply: `451 4.3.5 egress pool ${name} is assigned but not in delivery.pools` };
  }

  async function attempt(job: DeliveryJob, ctx: { deadline?: number; signal?: AbortSignal }): Promise<RecipientOutcome[]> {
    const all = (f: Extract<Plan, { outcome: string }>) =>
      job.recipients.map((r) => ({ address: r.address, outcome: f.outcome, category: f.category, reply: f.reply, remoteHost: null }));
    const egress = await egressOf(job);
    if (egress && 'outcome' in egress) return all(egress);
    const p = await plan(job.domain);
    if (!('targets' in p)) return all(p);
    let targets = p.targets;
    if (egress) {
      targets = targets.flatMap((t) => {
        const localAddress = egress.sourceFor(t.host, job.domain);
        return localAddress ? [{ ...t, localAddress }] : [];
      });
      if (!targets.length) {
        return all({
          outcome: 'deferred',
          category: 'other',
          reply: `451 4.4.0 egress pool ${egress.name} has no address of the family of ${p.via}: ${p.targets.map((t) => t.host).join(', ')}`,
        });
      }
    }
    const leave = egress ? await egress.enter({ signal: ctx.signal, deadline: ctx.deadline }) : () => undefined;
    if (!leave)
      return all({
        outcome: 'deferred',
        category: 'other',
        reply: `451 4.4.5 egress pool ${egress!.name} stayed busy (its concurrency) until the attempt's time ran out`,
      });
    try {
      return await send(job, ctx, p, targets, egress);
    } finally {
      leave();
    }
  }

  async function send(
    job: DeliveryJob,
    ctx: { deadline?: number; signal?: AbortSignal },
    p: Extract<Plan, { targets: unknown }>,
    targets: AttemptTarget[],
    egress: EgressPool | null,
  ): Promise<RecipientOutcome[]> {
    const body = await deps.body(job);
    const res = await attemptDelivery(
      {
        hostname: egress?.helo ?? deps.hostname,
        targets,
        tls: p.tls,
        sender: job.message.sender,
        recipients: job.recipients.map((r) => ({ address: r.address, notify: r.notify, orcpt: r.orcpt })),
        envid: job.message.dsnEnvid,
        ret: job.message.dsnRet === 'FULL' || job.message.dsnRet === 'HDRS' ? job.message.dsnRet : null,
        size: job.message.size + (job.message.topHeaders?.length ?? 0),
        smtputf8Needed: job.message.smtputf8 || NON_ASCII.test(job.message.sender) || job.recipients.some((r) => NON_ASCII.test(r.address)),
        eightBit: job.message.eightBit,
        body,
        auth: p.auth ?? null,
        timeouts: deps.timeouts,
        deadline: ctx.deadline,
        signal: ctx.signal,
      },
      deps.pool,
    );
    deps.logger.debug(
      { evt: 'attempt', qid: job.message.id, domain: job.domain, via: p.via, pool: egress?.name ?? null, log: res.log },
      'delivery attempt',
    );
    return res.recipients;
  }

  return {
    async deliver(job, ctx = {}) {
      const started = performance.now();
      try {
        return await attempt(job, ctx);
      } finally {
        deps.metrics?.deliveryDuration.observe((performance.now() - started) / 1000);
      }
    },
  };
}

function failure(res: Exclude<MxResult, { kind: 'hosts' }>, via: string): Plan {
  return {
    outcome: res.kind === 'fail' ? 'failed' : 'deferred',
    category: 'dns',
    reply: `${res.code} ${res.enhanced} ${res.text} (${via})`,
  };
}
