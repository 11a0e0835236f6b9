import type { SidePort } from '../options.js';
/** The gateways baton knows by name. */
export type PresetName = 'krakend' | 'caddy';

/** What `--preset` accepts: a name, `auto` (detect from the command) or `none`. */
export type PresetChoice = PresetName | 'auto' | 'none';

export const PRESET_CHOICES: readonly PresetChoice[] = ['auto', 'krakend', 'caddy', 'none'];

/** What a preset knows about the command it is applied to. */
export interface PresetContext {
  command: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Defaults a preset supplies. Each applies only where the user set nothing; `ignore`
 * and `watch` extras are added to what the user gave.
 */
export interface PresetSettings {
  /** The command, rewritten (e.g. `-p {port}` added). */
  command?: string[];
  health?: string;
  check?: string;
  /** Paths to watch when the user gave no --watch. */
  watch?: string[];
  /** Paths always ignored on top of the user's. */
  ignore?: string[];
  /** Things the user should know (printed as warnings at start). */
  warnings?: string[];
  /** Side ports the gateway's config opens, held by baton unless the user names the same. */
  sidePorts?: SidePort[];
  /** The config file rewritten for each instance (its private side ports written in). */
  rendering?: ConfigRendering;
  /** The gateway listens in TLS (the config says so): probe and proxy in TLS from the start. */
  upstreamTls?: boolean;
  /** The gateway's own certificate and key (PEM files), which baton serves on the public port unless told otherwise. */
  tlsCert?: string;
  tlsKey?: string;
}

/**
 * A config file each instance reads in a rewritten copy: baton writes the copy into a
 * private temporary folder for each instance, puts its path in place of `file` in the
 * command, and gives it to the check as `$BATON_CONFIG`. The user's file is never written.
 */
export interface ConfigRendering {
  /** The config file as the command names it. */
  file: string;
  /** The text the instance reads, from the user's text; a text it cannot parse is returned as it is, for the gateway to report. */
  render(text: string, sidePorts: Readonly<Record<string, number>>): string;
}

export interface Preset {
  name: PresetName;
  /** True when the command runs this gateway. */
  detect(command: readonly string[]): boolean;
  settings(context: PresetContext): PresetSettings;
}

/** The value after a flag (`-c FILE`, `--config FILE`, `--config=FILE`), searching from `from`. */
export function flagValue(command: readonly string[], names: readonly string[], from = 1): string | undefined {
  for (let i = from; i < command.length; i++) {
    const arg = command[i]!;
    if (names.includes(arg) && i + 1 < command.length) return command[i + 1];
    for (const name of names) {
      if (arg.startsWith(`${name}=`) && arg.length > name.length + 1) return arg.slice(name.length + 1);
    }
  }
  return undefined;
}

/** True when any of `names` appears as a flag (alone or `--flag=value`). */
export function hasFlag(command: readonly string[], names: readonly string[], from = 1): boolean {
  return command.slice(from).some((arg) => names.some((name) => arg === name || arg.startsWith(`${name}=`)));
}

/** Quotes an argument for `sh -c` when it needs it (checks run through the shell). */
export function shellQuote(arg: string): string {
  return /^[\w./:=@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}
