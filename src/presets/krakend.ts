import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { krakendTelemetry, krakendTls } from './krakend-telemetry.js';
import { flagValue, hasFlag, type Preset, type PresetContext, type PresetSettings, shellQuote } from './preset.js';

const HEALTH = '/__health';
const CONFIG_FLAGS = ['-c', '--config'];

/** Where `krakend` sits in the command: run directly, or as the image of `docker run`. */
function locate(command: readonly string[]): { kind: 'binary'; at: number } | { kind: 'docker'; at: number } | undefined {
  if (path.basename(command[0] ?? '') === 'krakend') return { kind: 'binary', at: 0 };
  if (path.basename(command[0] ?? '') === 'npx' && command[1] === 'krakend') return { kind: 'binary', at: 1 };
  if ((path.basename(command[0] ?? '') === 'docker' || path.basename(command[0] ?? '') === 'podman') && command[1] === 'run') {
    const image = command.findIndex((arg, i) => i > 1 && !arg.startsWith('-') && /(^|\/)krakend[^/:]*(:[\w.-]+)?$/.test(arg) && !command[i - 1]!.startsWith('-'));
    if (image > 0) return { kind: 'docker', at: image };
  }
  return undefined;
}

/**
 * KrakenD cannot reload; this preset makes `baton -- krakend run -c krakend.json` right
 * with no other flag. See docs/presets.md for what each setting does and why.
 */
export const krakendPreset: Preset = {
  name: 'krakend',
  detect: (command) => locate(command) !== undefined,
  settings(context: PresetContext): PresetSettings {
    // Forced with --preset krakend on a command it does not recognise: the program is krakend.
    const where = locate(context.command) ?? { kind: 'binary', at: 0 };
    const command = [...context.command];
    const config = flagValue(command, CONFIG_FLAGS, where.at + 1);
    const settings: PresetSettings = { health: HEALTH, warnings: [] };
    if (where.kind === 'binary' && command[where.at + 1] === 'run' && !hasFlag(command, ['-p', '--port'], where.at + 1)) {
      settings.command = [...command, '-p', '{port}'];
    }
    const fc = flexibleConfiguration(context);
    const text = config && !fc.enabled ? readText(path.resolve(context.cwd, config)) : undefined;
    if (config && !fc.enabled) settings.health = (text !== undefined ? healthPath(text) : undefined) ?? HEALTH;
    // Telemetry listeners on fixed ports: held by baton, each instance on a rendered copy with its own.
    const telemetry = where.kind === 'binary' && config && text !== undefined ? krakendTelemetry(text, config) : undefined;
    if (telemetry) {
      settings.sidePorts = telemetry.sidePorts;
      settings.rendering = telemetry.rendering;
    }
    // A tls block: the instances listen in TLS, and the public port serves the same certificate.
    const secure = text !== undefined ? krakendTls(text) : undefined;
    if (secure) {
      settings.upstreamTls = true;
      if (where.kind === 'binary') {
        settings.tlsCert = secure.cert;
        settings.tlsKey = secure.key;
      }
    }
    if (where.kind === 'binary' && config) {
      const binary = command.slice(0, where.at + 1);
      const words = [...binary, 'check', ...(lintsOffline(binary, context) ? ['-n'] : []), '-c'].map(shellQuote);
      settings.check = [...words, telemetry ? '"$BATON_CONFIG"' : shellQuote(config)].join(' ');
    }
    if (where.kind === 'docker') {
      settings.watch = [dockerConfigFolder(command, context.cwd) ?? context.cwd];
    } else if (fc.enabled) {
      settings.watch = [...(config ? [config] : []), ...fc.folders];
    }
    if (fc.out) settings.ignore = [path.resolve(context.cwd, fc.out)];
    return settings;
  },
};

/** Flexible Configuration: on when FC_ENABLE is non-empty; its folders are watched, its output ignored. */
function flexibleConfiguration(context: PresetContext): { enabled: boolean; folders: string[]; out: string | undefined } {
  const { env } = context;
  const enabled = Boolean(env.FC_ENABLE);
  const folders = enabled ? [env.FC_SETTINGS, env.FC_PARTIALS, env.FC_TEMPLATES].filter((f): f is string => Boolean(f)) : [];
  return { enabled, folders, out: enabled && env.FC_OUT ? env.FC_OUT : undefined };
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // not readable yet: the defaults
  }
}

/** `extra_config.router.health_path` of a plain JSON config, if it sets one. */
function healthPath(text: string): string | undefined {
  try {
    const config = JSON.parse(text) as { extra_config?: { router?: { health_path?: unknown } } };
    const custom = config.extra_config?.router?.health_path;
    return typeof custom === 'string' && custom.startsWith('/') ? custom : undefined;
  } catch {
    return undefined; // not JSON (YAML, TOML, a template): the default path
  }
}

/** True when this KrakenD's `check` has offline linting (`-n, --lint-no-network`, KrakenD 2.7+). */
function lintsOffline(binary: readonly string[], context: PresetContext): boolean {
  try {
    const help = execFileSync(binary[0]!, [...binary.slice(1), 'check', '--help'], {
      cwd: context.cwd,
      env: context.env,
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return help.includes('--lint-no-network');
  } catch {
    return false;
  }
}

/** The host folder mounted at /etc/krakend (`-v HOST:/etc/krakend`), where the config lives. */
function dockerConfigFolder(command: readonly string[], cwd: string): string | undefined {
  for (let i = 2; i < command.length; i++) {
    const arg = command[i]!;
    const mount = arg === '-v' || arg === '--volume' ? command[i + 1] : /^(?:-v|--volume)=(.+)$/.exec(arg)?.[1];
    const match = mount ? /^(.+):\/etc\/krakend\/?(?::\w+)?$/.exec(mount) : null;
    if (match) return path.resolve(cwd, match[1]!);
  }
  return undefined;
}
