/** What every PostgreSQL repository is built with. */
import type { ChangeTopic } from '../types.ts';

export interface RepoDeps {
  now: () => number;
  /** Announces a committed change of administrative data to every node (NOTIFY). */
  changed: (topic: ChangeTopic) => void;
}
