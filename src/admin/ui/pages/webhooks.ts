// PLACEHOLDER-NOT-BUILT: replaced by the page's real module before the console is merged.
import type { ConsoleApp, ConsoleDeps } from '../context.ts';

export function mountWebhooks(_app: ConsoleApp, _deps: ConsoleDeps): void {}
