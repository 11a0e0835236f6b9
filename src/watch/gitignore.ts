import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';

/**
 * The .gitignore files that apply inside watched folders, read as git reads them (the
 * `ignore` library): the folder's own and its ancestors' up to the repository root, and
 * those of the folders below it, each read once, the first time a path under it is
 * looked at. A deeper file overrides a shallower one, negations (`!keep.log`) included.
 */
export class GitignoreRules {
  /** Per watched folder, the folders whose .gitignore applies above it, outermost first. */
  readonly #above = new Map<string, string[]>();
  readonly #rules = new Map<string, Ignore | null>();

  constructor(folders: readonly string[]) {
    for (const folder of folders) this.#above.set(folder, ancestorsInRepository(folder));
  }

  /** Whether git would ignore `file` (`isDir`: it is a folder, so `dir/` patterns apply). */
  ignores(file: string, isDir: boolean | undefined): boolean {
    const folder = this.#folderOf(file);
    if (folder === undefined) return false;
    // The folders from the repository root down to the file's own, each .gitignore in turn.
    const below: string[] = [];
    for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
      below.unshift(dir);
      if (dir.length <= folder.length) break;
    }
    const chain = [...this.#above.get(folder)!, ...below];
    let ignored = false;
    for (const dir of chain) {
      const rules = this.#load(dir);
      if (!rules) continue;
      const relative = path.relative(dir, file).split(path.sep).join('/');
      if (relative === '' || relative.startsWith('..')) continue;
      const verdict = rules.test(isDir ? `${relative}/` : relative);
      if (verdict.ignored) ignored = true;
      else if (verdict.unignored) ignored = false;
    }
    return ignored;
  }

  /** A .gitignore file changed: read it again on the next look. */
  changed(gitignoreFile: string): void {
    this.#rules.delete(path.dirname(gitignoreFile));
  }

  #folderOf(file: string): string | undefined {
    let best: string | undefined;
    for (const folder of this.#above.keys()) {
      if ((file === folder || file.startsWith(folder + path.sep)) && (!best || folder.length > best.length)) best = folder;
    }
    return best;
  }

  #load(dir: string): Ignore | null {
    let rules = this.#rules.get(dir);
    if (rules === undefined) {
      let text: string | undefined;
      try {
        text = readFileSync(path.join(dir, '.gitignore'), 'utf8');
      } catch {
        text = undefined;
      }
      rules = text === undefined ? null : ignore().add(text);
      this.#rules.set(dir, rules);
    }
    return rules;
  }
}

/** The folders above `folder` up to the root of the git repository it is in, outermost first; none outside a repository. */
function ancestorsInRepository(folder: string): string[] {
  const above: string[] = [];
  for (let dir = folder; !existsSync(path.join(dir, '.git')); ) {
    const parent = path.dirname(dir);
    if (parent === dir) return []; // not in a repository: the folder's own .gitignore and those below it
    above.unshift(parent);
    dir = parent;
  }
  return above;
}
