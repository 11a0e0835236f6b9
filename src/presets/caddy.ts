import { readFileSync } from 'node:fs';
import path from 'node:path';
import { caddyAdmin } from './caddy-admin.js';
import { flagValue, type Preset, type PresetContext, type PresetSettings } from './preset.js';

/**
 * Caddy reads its port from `{$PORT}` in a Caddyfile, so the command needs no rewrite.
 * The preset holds the admin endpoint as a side port, so the admin API always reaches the
 * serving generation (caddy-admin.ts). It sets no check: `caddy run` loads and provisions
 * the config exactly as `caddy validate` does and exits on the same errors with the same
 * message, before it listens, so a broken config is rejected just the same; a check beside
 * it only cost every save a second process booting on the same cores (bench/reload.mjs:
 * 20–30 ms under load, docs/presets.md).
 */
export const caddyPreset: Preset = {
  name: 'caddy',
  detect: (command) => path.basename(command[0] ?? '') === 'caddy' && command[1] === 'run',
  settings(context: PresetContext): PresetSettings {
    const { command } = context;
    const config = flagValue(command, ['--config']);
    const adapter = flagValue(command, ['--adapter']);
    const settings: PresetSettings = { warnings: [] };
    if (config) {
      const text = readText(path.resolve(context.cwd, config));
      const isJson = adapter === undefined ? config.endsWith('.json') : adapter === 'json';
      // The admin endpoint as a side port: each instance on a copy with its own admin address.
      const admin = text === undefined || (!isJson && adapter !== undefined && adapter !== 'caddyfile') ? undefined : caddyAdmin(text, config, isJson, context.cwd);
      if (admin) {
        settings.sidePorts = admin.sidePorts;
        settings.rendering = admin.rendering;
      }
    }
    if (command.includes('--watch')) {
      settings.warnings!.push("caddy's own --watch reloads in place next to baton's reloads; drop it from the command");
    }
    return settings;
  },
};

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
