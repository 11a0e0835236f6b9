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
