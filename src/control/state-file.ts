import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What a running baton leaves in `.baton/<pid>.json` of its working folder for `baton status` to find it. */
export interface StateFile {
  pid: number;
  /** The public URL. */
  url: string;
  /** The control plane's URL. */
  admin: string;
  token?: string;
  startedAt: string;
}

/** The folder; the watcher never looks inside it (watch/ignore-rules.ts). */
export const STATE_FOLDER = '.baton';

const removeAtExit = new Set<string>();
let hooked = false;

/** Writes the state file (through a temporary file renamed into place); it is removed on close and at exit. */
export function writeStateFile(cwd: string, state: StateFile): string {
  const folder = path.join(cwd, STATE_FOLDER);
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `${state.pid}.json`);
  const temp = `${file}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, file);
  removeAtExit.add(file);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const f of removeAtExit) rmSync(f, { force: true });
    });
  }
  return file;
}

export function removeStateFile(file: string): void {
  removeAtExit.delete(file);
  rmSync(file, { force: true });
}

/** The batons running from `cwd` (state files whose process is alive), newest first. */
export function runningBatons(cwd: string): StateFile[] {
  const folder = path.join(cwd, STATE_FOLDER);
  let names: string[];
  try {
    names = readdirSync(folder).filter((n) => /^\d+\.json$/.test(n));
  } catch {
    return [];
  }
  const out: StateFile[] = [];
  for (const name of names) {
    try {
      const state = JSON.parse(readFileSync(path.join(folder, name), 'utf8')) as StateFile;
      process.kill(state.pid, 0);
      out.push(state);
    } catch {
      // not JSON, or a baton that died without removing it (SIGKILL): ignored
    }
  }
  return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}
