import path from 'node:path';
import type { Baton } from '../lifecycle/baton.js';
import { BatonError } from '../errors.js';
import type { BatonEvent } from '../events.js';
import { LIVE_KEYS, type LiveOptions } from '../options.js';
import { ConfigWatcher } from '../watch/watcher.js';
import { loadConfigFile, type ConfigValues } from './config-file.js';

/** The flag a config key stands for, for messages (`readyTimeout` → `--ready-timeout`). */
const flagOf = (key: string): string => (key === 'command' ? 'the command after --' : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);

const list = (keys: readonly string[]): string => keys.join(', ');

/**
 * Follows the config file while baton runs. An edit is read and checked as at start (a
 * broken file is named in a warning and the settings in force are kept); the keys that
 * can change while running are applied (`Baton.update`: the command, `health`, `check`,
 * the timeouts, `debounce`); the others are named in a warning as taking a restart; and
 * a key the command line set keeps the flag's value, with a warning saying so.
 */
export async function followConfigFile(o: {
  file: string;
  initial: ConfigValues;
  flagKeys: readonly string[];
  baton: Baton;
  report: (event: BatonEvent) => void;
}): Promise<{ close(): Promise<void> }> {
  const cwd = path.dirname(o.file);
  const shown = path.relative(o.baton.options.cwd, o.file) || o.file;
  const flagged = new Set(o.flagKeys);
  let current = o.initial;
  const watcher = new ConfigWatcher({ paths: [o.file], ignore: [], cwd, debounceMs: 100, poll: o.baton.options.poll, gitignore: false });
  const warn = (message: string): void => o.report({ type: 'warning', message: `${shown}: ${message}` });

  const apply = (): void => {
    let next: ConfigValues;
    try {
      next = loadConfigFile(o.file, cwd)!.values;
    } catch (err) {
      if (!(err instanceof BatonError)) throw err;
      return warn(`${err.toLine()}; the settings in force stay until the file is fixed`);
    }
    const changed = [...new Set([...Object.keys(current), ...Object.keys(next)])].filter((key) => JSON.stringify(current[key]) !== JSON.stringify(next[key]));
    current = next;
    if (changed.length === 0) return;
    const byFlag = changed.filter((key) => flagged.has(key));
    const live = changed.filter((key): key is keyof LiveOptions => !flagged.has(key) && (LIVE_KEYS as readonly string[]).includes(key));
    const restart = changed.filter((key) => !flagged.has(key) && !(LIVE_KEYS as readonly string[]).includes(key));
    for (const key of byFlag) warn(`"${key}" changed, but ${flagOf(key)} on the command line wins over the file`);
    if (restart.length > 0) warn(`${list(restart.map((k) => `"${k}"`))} changed, which takes a restart of baton to apply (Ctrl-C and start it again)`);
    if (live.length === 0) return;
    try {
      const applied = o.baton.update(Object.fromEntries(live.map((key) => [key, next[key]])) as Partial<LiveOptions>);
      if (applied.length > 0) o.report({ type: 'settings', file: o.file, applied });
    } catch (err) {
      if (!(err instanceof BatonError)) throw err;
      warn(`${err.toLine()}; the settings in force stay until the file is fixed`);
    }
  };

  // A save read early may be half written: an early change counts only once it has held.
  let early = false;
  watcher.on('change', (_files, isEarly) => (isEarly ? (early = true) : apply()));
  watcher.on('settled', (held) => {
    if (early && held) apply();
    early = false;
  });
  watcher.on('error', (err) => warn(`watching it failed: ${err.message}`));
  await watcher.start();
  return { close: () => watcher.close() };
}
