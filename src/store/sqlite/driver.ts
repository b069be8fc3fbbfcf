/**
 * Which better-sqlite3 runs: 13 (Node-API) on Node.js 22 and newer, 12 on Node.js 20. Neither
 * works on both: 13 needs Node 22 (on 20 it crashes the process), and 12 on Node 24 aborts the
 * process when V8 collects one of its statements outside a JavaScript context (its ObjectWrap
 * destructor; measured here: 2 of 3 starts of `postern serve` on Node 24.21 died with
 * "Assertion failed: (env) != nullptr"). package.json has 13 as an optional dependency (npm
 * skips it on Node 20) and 12 under the alias better-sqlite3-12. The API is the same.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);

function load(): typeof BetterSqlite3 {
  if (Number(process.versions.node.split('.')[0]) >= 22) {
    try {
      return require('better-sqlite3') as typeof BetterSqlite3;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
      // installed on Node 20 and now run on a newer Node: 12 works on 22, not on 24
    }
  }
  return require('better-sqlite3-12') as typeof BetterSqlite3;
}

export const Database = load();
export type Db = BetterSqlite3.Database;
