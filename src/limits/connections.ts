/** Connection gate: how many connections one client address holds at once on a listener. */
export interface ConnectionGate {
  tryAcquire(ip: string): boolean;
  release(ip: string): void;
  count(ip: string): number;
}

export function createConnectionGate(maxPerIp: number): ConnectionGate {
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
