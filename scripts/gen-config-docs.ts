// Writes docs/configuration.md from the configuration schema (npm run docs:config).
import fs from 'node:fs';
import { renderConfigReference } from '../src/config/index.ts';

fs.writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigReference());
console.log('docs/configuration.md written');
