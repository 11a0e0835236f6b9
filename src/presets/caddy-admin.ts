import path from 'node:path';
import type { SidePort } from '../options.js';
import type { ConfigRendering } from './preset.js';

/** Caddy's default admin address. */
const DEFAULT_ADMIN = 'localhost:2019';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The port of an admin address (`localhost:2019`, `:2019`, `tcp/127.0.0.1:2019`), if it is a TCP one. */
function addressPort(address: string): number | undefined {
  if (address.startsWith('unix/')) return undefined;
  const match = /:(\d{1,5})$/.exec(address);
  return match ? Number(match[1]) : undefined;
}

/**
 * The origins Caddy's admin endpoint accepts in `Host` and `Origin`: the public address a
 * client uses (baton forwards its `Host` as it came), under each loopback name, and the
 * instance's own private address.
 */
function origins(publicPort: number, privatePort: number): string[] {
  return [`localhost:${publicPort}`, `127.0.0.1:${publicPort}`, `[::1]:${publicPort}`, `127.0.0.1:${privatePort}`];
}

/** Where the global options block of a Caddyfile is, and its `admin` directive in it. */
interface GlobalBlock {
  /** Lines of the block's body: from after `{` to before the closing `}`. */
  start: number;
  end: number;
  /** The admin directive's lines (with its own sub-block), if the block has one. */
  admin?: { start: number; end: number; args: string[] };
}

/** Strips a `#` comment (outside quotes) and surrounding space. */
function code(line: string): string {
  let quoted: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === quoted && line[i - 1] !== '\\') quoted = undefined;
    } else if (c === '"' || c === '`') quoted = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trim();
  }
  return line.trim();
}

/** Finds the global options block: a `{` alone as the first thing in the file. */
function globalBlock(lines: readonly string[]): GlobalBlock | undefined {
  let i = 0;
  while (i < lines.length && code(lines[i]!) === '') i++;
  if (code(lines[i] ?? '') !== '{') return undefined;
  const block: GlobalBlock = { start: i + 1, end: i + 1 };
  let depth = 1;
  for (let j = i + 1; j < lines.length; j++) {
    const text = code(lines[j]!);
    const opens = (text.match(/\{/g) ?? []).length - (text.match(/\{\$/g) ?? []).length;
    const closes = (text.match(/\}/g) ?? []).length - (text.match(/\{\$[^}]*\}/g) ?? []).length;
    if (depth === 1 && /^admin(\s|$)/.test(text)) {
      const words = text.replace(/\{$/, '').trim().split(/\s+/).slice(1);
      block.admin = { start: j, end: j + 1, args: words };
      if (text.endsWith('{')) {
        // Its own sub-block runs to the matching brace.
        let inner = 1;
        for (let k = j + 1; k < lines.length && inner > 0; k++) {
          const t = code(lines[k]!);
          inner += (t.match(/\{/g) ?? []).length - (t.match(/\}/g) ?? []).length;
          block.admin.end = k + 1;
        }
      }
    }
    depth += opens - closes;
    if (depth === 0) {
      block.end = j;
      return block;
    }
  }
  return undefined;
}

/** Snippet names a Caddyfile defines (`(name) {`): `import name` refers to those, not to files. */
function snippets(lines: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const line of lines) {
    const match = /^\(([^)\s]+)\)\s*\{?$/.exec(code(line));
    if (match) names.add(match[1]!);
  }
  return names;
}

/** A Caddyfile's admin port: undefined when the admin endpoint is off or not on TCP. */
function caddyfileAdmin(text: string): number | undefined {
  const block = globalBlock(text.split('\n'));
  const args = block?.admin?.args ?? [];
  if (args[0] === 'off') return undefined;
  return addressPort(args[0] ?? DEFAULT_ADMIN);
}

/**
 * The copy of a Caddyfile an instance reads: its admin endpoint on the instance's private
 * port, accepting the public admin address as its origin; relative `import` paths made
 * absolute, since the copy lives in another folder (Caddy resolves them against the
 * importing file's folder).
 */
function renderCaddyfile(text: string, source: string, publicPort: number, privatePort: number): string {
  const lines = text.split('\n');
  const names = snippets(lines);
  const folder = path.dirname(source);
  for (let i = 0; i < lines.length; i++) {
    const match = /^(\s*import\s+)(\S+)(.*)$/.exec(lines[i]!);
    if (!match || names.has(match[2]!) || path.isAbsolute(match[2]!) || /^["`{]/.test(match[2]!)) continue;
    lines[i] = `${match[1]}${path.join(folder, match[2]!)}${match[3]}`;
  }
  const admin = [`\tadmin 127.0.0.1:${privatePort} {`, `\t\torigins ${origins(publicPort, privatePort).join(' ')}`, '\t}'];
  const block = globalBlock(lines);
  if (!block) return [`{`, ...admin, `}`, ...lines].join('\n');
  if (block.admin) lines.splice(block.admin.start, block.admin.end - block.admin.start, ...admin);
  else lines.splice(block.start, 0, ...admin);
  return lines.join('\n');
}

/**
 * Caddy's admin endpoint as a side port: every instance would claim the same address
 * (localhost:2019 by default), and during a switch an API call could reach the
 * generation being drained. baton holds the public admin port and gives each instance
 * a copy of its config with the admin endpoint on a private port (a Caddyfile's global
 * options, or a JSON config's `admin`). `CADDY_ADMIN` (Caddy 2.6.3+) is not used: it
 * cannot set the admin endpoint's accepted origins, and Caddy refuses a request whose
 * `Host` is the public address. Undefined when the admin endpoint is off.
 */
export function caddyAdmin(text: string, file: string, isJson: boolean, cwd: string): { sidePorts: SidePort[]; rendering: ConfigRendering } | undefined {
  const source = path.resolve(cwd, file);
  let publicPort: number | undefined;
  if (isJson) {
    try {
      const config = JSON.parse(text) as unknown;
      const admin = isObject(config) && isObject(config.admin) ? config.admin : {};
      publicPort = admin.disabled === true ? undefined : addressPort(typeof admin.listen === 'string' ? admin.listen : DEFAULT_ADMIN);
    } catch {
      return undefined;
    }
  } else publicPort = caddyfileAdmin(text);
  if (publicPort === undefined || publicPort === 0) return undefined;
  const port = publicPort;
  return {
    sidePorts: [{ name: 'admin', port }],
    rendering: {
      file,
      render(current, sidePorts) {
        const privatePort = sidePorts.admin;
        if (privatePort === undefined) return current;
        if (!isJson) return renderCaddyfile(current, source, port, privatePort);
        try {
          const config = JSON.parse(current) as unknown;
          if (!isObject(config)) return current;
          config.admin = { ...(isObject(config.admin) ? config.admin : {}), listen: `127.0.0.1:${privatePort}`, origins: origins(port, privatePort) };
          return `${JSON.stringify(config, null, 2)}\n`;
        } catch {
          return current;
        }
      },
    },
  };
}
