import { fstatSync, readlinkSync, statSync } from 'node:fs';

/** A file baton's own stdout or stderr is redirected to. */
export interface OwnOutput {
  /** Its path, where the system says (Linux: /proc/self/fd). */
  readonly path: string | undefined;
  readonly dev: number;
  readonly ino: number;
}

/**
 * The regular files baton's stdout and stderr go to (`baton -- … > baton.log`). Every
 * line baton prints changes them, so a watched folder that holds one would reload on
 * every line, the gateway's own output included: the watcher ignores them.
 */
export function ownOutputFiles(): OwnOutput[] {
  const out: OwnOutput[] = [];
  for (const fd of [1, 2]) {
    try {
      const stats = fstatSync(fd);
      if (!stats.isFile()) continue;
      let file: string | undefined;
      try {
        const link = readlinkSync(`/proc/self/fd/${fd}`);
        if (link.startsWith('/') && statSync(link).ino === stats.ino) file = link;
      } catch {
        file = undefined; // no /proc (macOS): matched by inode when the watcher has the file's stats
      }
      out.push({ path: file, dev: stats.dev, ino: stats.ino });
    } catch {
      // a closed descriptor: nothing to ignore
    }
  }
  return out;
}
