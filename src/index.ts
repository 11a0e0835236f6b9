/**
 * baton's public API. The CLI is a thin user of it:
 *
 * ```ts
 * import { Baton, createReporter } from 'baton-reload';
 * const baton = new Baton({ command: ['caddy', 'run', '--config', 'Caddyfile'], port: 8080 });
 * baton.on('event', createReporter({ json: false, quiet: false, cwd: process.cwd() }));
 * await baton.start();
 * // ... later
 * await baton.close();
 * ```
 */
export { Baton } from './lifecycle/baton.js';
export type { ExperimentsView } from './lifecycle/experiments/promotion.js';
export { BatonError, type BatonErrorCode } from './errors.js';
export type { BatonEvent, BatonEventType, ReloadReason } from './events.js';
export { EVENT_FIELDS, EVENT_TYPES } from './events.js';
export type { ServedTotals } from './events.js';
export { DEFAULTS, LIVE_KEYS, type BatonOptions, type LiveOptions, type ResolvedOptions } from './options.js';
export { createReporter, formatEvent, type ReporterOptions } from './cli/reporter.js';
