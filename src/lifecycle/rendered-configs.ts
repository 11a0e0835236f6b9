import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConfigRendering } from '../presets/preset.js';

/** Copies kept: the serving generation's, those draining, and a few before them for a look. */
const KEEP = 4;

/**
 * Each instance's copy of the config file a preset rewrites (presets/preset.ts
 * `ConfigRendering`): written into a private temporary folder (mode 0700, removed on
 * close), through a temporary file renamed into place, so an instance never reads half a
 * copy. The user's file is only read.
 */
export class RenderedConfigs {
  readonly #rendering: ConfigRendering;
  readonly #source: string;
  #dir: string | undefined;
  readonly #written: number[] = [];

  constructor(rendering: ConfigRendering, cwd: string) {
    this.#rendering = rendering;
    this.#source = path.resolve(cwd, rendering.file);
  }

  /** Writes generation `gen`'s copy with its side ports, and returns its path. */
  write(gen: number, sidePorts: Readonly<Record<string, number>>): string {
    let text: string;
    try {
      text = readFileSync(this.#source, 'utf8');
    } catch {
      return this.#source; // gone: the gateway says so, naming the user's file
    }
    this.#dir ??= mkdtempSync(path.join(tmpdir(), 'baton-config-'));
    const folder = path.join(this.#dir, `gen-${gen}`);
    mkdirSync(folder, { recursive: true });
    const file = path.join(folder, path.basename(this.#source));
    const temporary = `${file}.tmp`;
    writeFileSync(temporary, this.#rendering.render(text, sidePorts));
    renameSync(temporary, file);
    if (!this.#written.includes(gen)) this.#written.push(gen);
    while (this.#written.length > KEEP) rmSync(path.join(this.#dir, `gen-${this.#written.shift()!}`), { recursive: true, force: true });
    return file;
  }

  /** The command with the config file's argument (`-c FILE`, `--config=FILE`) pointing at `copy`. */
  command(command: readonly string[], copy: string): string[] {
    const file = this.#rendering.file;
    return command.map((arg, i) => {
      if (i > 0 && arg === file && ['-c', '--config'].includes(command[i - 1]!)) return copy;
      for (const flag of ['-c=', '--config=']) if (arg === `${flag}${file}`) return `${flag}${copy}`;
      return arg;
    });
  }

  /** Removes every copy. */
  close(): void {
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}
