// PLACEHOLDER-NOT-BUILT: replaced by the page's real module before the console is merged.
import type { Context } from 'hono';
import type { ConsoleApp, ConsoleDeps, ConsoleEnv } from '../context.ts';
import { html, page } from '../html.ts';

export function mountOverview(_app: ConsoleApp, _deps: ConsoleDeps): void {}
export const overviewPage = (c: Context<ConsoleEnv>, _deps: ConsoleDeps) => page(c, { title: 'Overview', body: html`<p>PLACEHOLDER-NOT-BUILT</p>` });
