/**
 * Pipes streams one into the next and settles when the last has finished: rejects with the first
 * error any of them reports, or when one closes before it is done (node:stream's end-of-stream
 * rules decide both), and then destroys them all. This is what node:stream's pipeline() does for
 * intake, without its cost: pipeline() aborts an AbortController every time it finishes, and the
 * abort builds a DOMException with a stack trace, async frames included. In a profile of a
 * delivered 100 KiB message that was about 0.1 ms of the main thread's CPU per message.
 */
import { finished, type Duplex, type Readable, type Writable } from 'node:stream';

export function chain(first: Readable, ...rest: (Duplex | Writable)[]): Promise<void> {
  const streams = [first, ...rest] as (Readable | Writable)[];
  return new Promise((resolve, reject) => {
    let settled = false;
    const cleanups: (() => void)[] = [];
    const settle = (err: Error | null) => {
      if (settled) return;
      settled = true;
      for (const c of cleanups) c();
      if (!err) return resolve();
      for (const s of streams) s.destroy();
      reject(err);
    };
    streams.forEach((s, i) => {
      const last = i === streams.length - 1;
      // the last one is waited for as a writable (its readable side, if any, is nobody's concern)
      cleanups.push(finished(s, last ? { readable: false } : {}, (err) => (err ? settle(err) : last ? settle(null) : undefined)));
    });
    for (let i = 0; i < streams.length - 1; i++) (streams[i] as Readable).pipe(streams[i + 1] as Writable);
  });
}
