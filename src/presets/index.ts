import { usageError } from '../errors.js';
import { caddyPreset } from './caddy.js';
import { krakendPreset } from './krakend.js';
import { PRESET_CHOICES, type Preset, type PresetChoice, type PresetName } from './preset.js';

export { PRESET_CHOICES, type Preset, type PresetChoice, type PresetName, type PresetSettings } from './preset.js';

export const PRESETS: readonly Preset[] = [krakendPreset, caddyPreset];

/** The preset to apply: the one named, the one the command matches (`auto`), or none. */
export function choosePreset(choice: PresetChoice, command: readonly string[]): Preset | undefined {
  if (!PRESET_CHOICES.includes(choice)) {
    throw usageError(`unknown preset "${choice}"`, `use one of: ${PRESET_CHOICES.join(', ')}`);
  }
  if (choice === 'none') return undefined;
  if (choice === 'auto') return PRESETS.find((preset) => preset.detect(command));
  return PRESETS.find((preset) => preset.name === choice);
}

/** What each preset sets, for `baton --help` and docs/presets.md (a test keeps them equal). */
export const PRESET_SUMMARY: Readonly<Record<PresetName, readonly string[]>> = {
  krakend: [
    'detected from: krakend, npx krakend, or docker/podman run with an image named krakend',
    'command: adds -p {port} to krakend run when it has no -p/--port (not for docker: write -p {port}:8080)',
    'health: /__health, or extra_config.router.health_path of a JSON config',
    'check: krakend check -c <config>, plus -n (offline lint) when this KrakenD has it; never -t',
    'watch: the -c config, and with FC_ENABLE the FC_SETTINGS, FC_PARTIALS and FC_TEMPLATES folders (docker: the folder mounted at /etc/krakend)',
    'ignore: the FC_OUT file',
    'side ports: telemetry/metrics listen_address (default :8090) and each OpenTelemetry prometheus exporter port (default 9090) of a JSON config; each instance runs on a copy of the config with its own ports',
    'tls: a tls block means TLS to the gateway, and the public port serves its certificate (HTTPS and HTTP/2)',
  ],
  caddy: [
    'detected from: caddy run',
    'check: none (caddy run rejects what caddy validate would, with the same message, before it listens)',
    'port: through PORT ({$PORT} in a Caddyfile); health: /',
    'side ports: the admin endpoint (localhost:2019 unless the config moves it or turns it off); each instance runs on a copy of the config with its own admin port',
    'tls: a site address that turns HTTPS on is found from the first probe; baton then talks TLS to it',
    'warns: when caddy --watch is used',
  ],
};
