import { readFileSync } from 'node:fs';
import path from 'node:path';
import { flagValue, type Preset, type PresetContext, type PresetSettings , shellQuote } from './preset.js';

/**
 * Caddy reads its port from `{$PORT}` in a Caddyfile, so the command needs no rewrite.
 * The preset adds `caddy validate` as the check and warns when generations would share
 * the admin endpoint.
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
      settings.check = [command[0]!, 'validate', '--config', config, ...(adapter ? ['--adapter', adapter] : [])].map(shellQuote).join(' ');
      const warning = adminWarning(path.resolve(context.cwd, config), adapter);
      if (warning) settings.warnings!.push(warning);
    }
    if (command.includes('--watch')) {
      settings.warnings!.push("caddy's own --watch reloads in place next to baton's reloads; drop it from the command");
    }
    return settings;
  },
};

/** A warning when the config leaves the admin endpoint on (both generations would claim localhost:2019). */
function adminWarning(file: string, adapter: string | undefined): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const isJson = adapter === undefined ? file.endsWith('.json') : adapter === 'json';
  const off = isJson ? /"admin"\s*:\s*\{[^}]*"disabled"\s*:\s*true/.test(text) : /^\s*admin\s+off\b/m.test(text);
  return off
    ? undefined
    : `${path.basename(file)} leaves Caddy's admin endpoint on: during a switch two generations claim localhost:2019; add \`admin off\` to the global options block`;
}
