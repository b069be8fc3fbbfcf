/**
 * Connection gate: how many connections one client address holds at once on a listener.
 * The local gate counts in this process; with several worker processes the supervisor holds
 * the counts and each worker asks it (see supervisor/), so the limit holds across workers.
 */
export interface ConnectionGate {
  acquire(ip: string): Promise<boolean>;
  release(ip: string): void;
}

export interface CountingGate {
  tryAcquire(ip: string): boolean;
  release(ip: string): void;
  count(ip: string): number;
}

export function createCounter(maxPerIp: number): CountingGate {
  const counts = new Map<string, number>();
  return {
    tryAcquire(ip) {
      const n = counts.get(ip) ?? 0;
      if (n >= maxPerIp) return false;
      counts.set(ip, n + 1);
      return true;
    },
    release(ip) {
      const n = (counts.get(ip) ?? 0) - 1;
      if (n > 0) counts.set(ip, n);
      else counts.delete(ip);
    },
    count: (ip) => counts.get(ip) ?? 0,
  };
}

export function createConnectionGate(maxPerIp: number): ConnectionGate {
  const counter = createCounter(maxPerIp);
  return {
    acquire: async (ip) => counter.tryAcquire(ip),
    release: (ip) => counter.release(ip),
  };
}
