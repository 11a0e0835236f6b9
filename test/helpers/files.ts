import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A fresh temporary folder; `remove()` deletes it. */
export function tempDir(): { dir: string; file: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-test-'));
  return { dir, file: (name) => path.join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a fixture gateway config the way an editor saves in place. */
export function writeConfig(file: string, config: Record<string, unknown>): void {
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
}

/** Writes raw text, e.g. a broken config. */
export function writeText(file: string, text: string): void {
  writeFileSync(file, text);
}

/** Saves the way vim and many IDEs do: write a temp file beside it, rename over. */
export function saveAtomically(file: string, text: string): void {
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, text);
  renameSync(temp, file);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
