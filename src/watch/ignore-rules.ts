import type { Stats } from 'node:fs';
import path from 'node:path';
import type { GitignoreRules } from './gitignore.js';
import type { OwnOutput } from './own-output.js';

/** Folders never worth a reload. */
/** `.baton` holds baton's own state files (control/state-file.ts). */
const IGNORED_DIRS = new Set(['.git', '.hg', '.svn', 'node_modules', '.baton']);

/**
 * Files editors write beside the real one while saving: vim swap and backup files and
 * its `4913` write test, emacs lock and autosave files, JetBrains safe-write temp
 * files, kate swap files, GNOME's output streams, and the generic `~`/`.tmp`/`.bak`.
 */
const EDITOR_FILES = [
  /^\..*\.sw[a-p]$/,
  /\.sw[a-p]x?$/,
  /~$/,
  /^4913$/,
  /^\.#/,
  /^#.*#$/,
  /___jb_(?:tmp|old|bak)___$/,
  /\.kate-swp$/,
  /^\.goutputstream-/,
  /\.(?:tmp|temp|bak|orig|crdownload)$/i,
  /^\.DS_Store$/,
];

/** Turns a glob (`*`, `**`, `?`) into a regular expression over `/`-separated paths. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** What else the watcher leaves out, beyond the patterns. */
export interface IgnoreExtras {
  /** .gitignore files of the watched folders (gitignore.ts). */
  gitignore?: GitignoreRules;
  /** Files baton's own stdout and stderr are redirected to (own-output.ts). */
  ownOutput?: readonly OwnOutput[];
  /** Files dropped while running (a reload storm): read at every call. */
  dropped?: ReadonlySet<string>;
}

/**
 * Builds the test chokidar calls for every path. A pattern without `/` matches any
 * path segment (like .gitignore); one with `/` matches the path relative to `cwd`
 * (or an absolute path). Watched roots themselves are never ignored; inside watched
 * folders, what their .gitignore files ignore is ignored too.
 */
export function ignoreRules(patterns: readonly string[], cwd: string, roots: readonly string[], extras: IgnoreExtras = {}): (file: string, stats?: Stats) => boolean {
  const bySegment = patterns.filter((p) => !p.includes('/')).map(globToRegExp);
  const byPath = patterns.filter((p) => p.includes('/')).map((p) => globToRegExp(p.replace(/^\.\//, '').replace(/\/$/, '')));
  const rootSet = new Set(roots);
  const ownPaths = new Set((extras.ownOutput ?? []).map((o) => o.path).filter((p): p is string => p !== undefined));
  return (file: string, stats?: Stats): boolean => {
    if (rootSet.has(file)) return false;
    if (extras.dropped?.has(file) || ownPaths.has(file)) return true;
    if (stats && extras.ownOutput?.some((o) => o.ino === stats.ino && o.dev === stats.dev)) return true;
    const relative = path.relative(cwd, file).split(path.sep).join('/');
    const segments = relative.split('/');
    const name = segments[segments.length - 1] ?? '';
    if (segments.some((s) => IGNORED_DIRS.has(s))) return true;
    if (EDITOR_FILES.some((re) => re.test(name))) return true;
    if (bySegment.some((re) => segments.some((s) => re.test(s)))) return true;
    const absolute = file.split(path.sep).join('/');
    if (byPath.some((re) => re.test(relative) || re.test(absolute) || segments.some((_, i) => re.test(segments.slice(0, i + 1).join('/'))))) return true;
    return extras.gitignore?.ignores(file, stats?.isDirectory()) ?? false;
  };
}
