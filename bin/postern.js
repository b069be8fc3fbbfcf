#!/usr/bin/env node
// The `postern` executable: runs the built JavaScript in dist/ (made by `npm ci` through the
// `prepare` script, or `npm run build`); no TypeScript loader at run time. Called as `postern
// sendmail ...` (or through a link named sendmail, e.g. /usr/sbin/sendmail) it goes straight to
// the sendmail command, which loads only node built-ins: websites call it once per message.
import path from 'node:path';
import { main } from './entry.js';

const dist = new URL('../dist/', import.meta.url);
await main({ cli: new URL('cli.js', dist), sendmail: new URL('sendmail.js', dist) }, path.basename(process.argv[1] ?? ''));
