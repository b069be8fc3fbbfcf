/**
 * Connection gate: how many connections one client address, and one client network (the /24
 * of IPv4, the /64 of IPv6), hold at once on a listener. A client whose network logged in
 * successfully before (known networks, below) is not held to the network cap: it may take a
 * reserved slot. The local gate counts in this process; with several worker processes the
 * supervisor holds the counts and each worker asks it (see supervisor/), so the limits hold
 * across workers.
 */
import { loginNetwork } from '../core/index.ts';

export type GateVerdict = 'ok' | 'per-ip' | 'per-network';

export interface ConnectionGate {
  /** `known`: the client's network logged in before (not held to the network cap). */
  acquire(ip: string, known?: boolean): Promise<GateVerdict>;
  release(ip: string): void;
}

export interface CountingGate {
  tryAcquire(ip: string, known?: boolean): GateVerdict;
  release(ip: string): void;
  count(ip: string): number;
}

function bump(m: Map<string, number>, k: string, by: number): void {
  const n = (m.get(k) ?? 0) + by;
  if (n > 0) m.set(k, n);
  else m.delete(k);
}

export function createCounter(maxPerIp: number, maxPerNetwork = Infinity): CountingGate {
  const byIp = new Map<string, number>();
  const byNet = new Map<string, number>();
  return {
    tryAcquire(ip, known = false) {
      if ((byIp.get(ip) ?? 0) >= maxPerIp) return 'per-ip';
      const net = loginNetwork(ip);
      if (!known && (byNet.get(net) ?? 0) >= maxPerNetwork) return 'per-network';
      bump(byIp, ip, 1);
      bump(byNet, net, 1);
      return 'ok';
    },
    release(ip) {
      if (!byIp.has(ip)) return;
      bump(byIp, ip, -1);
      bump(byNet, loginNetwork(ip), -1);
    },
    count: (ip) => byIp.get(ip) ?? 0,
  };
}

export function createConnectionGate(maxPerIp: number, maxPerNetwork = Infinity): ConnectionGate {
  const counter = createCounter(maxPerIp, maxPerNetwork);
  return {
    acquire: async (ip, known) => counter.tryAcquire(ip, known),
    release: (ip) => counter.release(ip),
  };
}

/** Networks (/24, /64) a login succeeded from lately, in this process; bounded, oldest dropped first. */
export interface KnownNetworks {
  remember(ip: string, now: number): void;
  isKnown(ip: string, now: number): boolean;
}

export function createKnownNetworks(o: { keepMs: number; max?: number }): KnownNetworks {
  const seen = new Map<string, number>();
  const max = o.max ?? 100_000;
  return {
    remember(ip, now) {
      const net = loginNetwork(ip);
      seen.delete(net);
      if (seen.size >= max) seen.delete(seen.keys().next().value!);
      seen.set(net, now);
    },
    isKnown(ip, now) {
      const at = seen.get(loginNetwork(ip));
      return at !== undefined && now - at < o.keepMs;
    },
  };
}
