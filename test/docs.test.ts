import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram, presetHelp } from '../src/cli/args.js';
import { configSchema } from '../src/cli/config-file.js';
import { ERROR_CODES } from '../src/errors.js';
import { EVENT_FIELDS, EVENT_TYPES } from '../src/events.js';
import { PRESET_SUMMARY } from '../src/presets/index.js';
import { resolveOptions } from '../src/options.js';
import { isRefusal, judgeRequest } from '../src/proxy/edge/request-rules.js';
import { ROOT } from './helpers/baton-process.js';

const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

/** Rows of the first markdown table after `heading`, as arrays of trimmed cells. */
function tableAfter(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(heading);
  expect(start, `heading "${heading}"`).toBeGreaterThanOrEqual(0);
  const lines = markdown.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(' | ').map((c) => c.trim()));
  }
  return rows;
}

/** The flag table as the code defines it: flags, default, description. */
function flagsFromCode(): string[][] {
  const program = buildProgram('0.0.0');
  return program.options.map((o) => [`\`${o.flags}\``, o.defaultValue === undefined ? '—' : String(o.defaultValue), o.description]);
}

describe('docs match the code', () => {
  it.each([
    ['README.md', '## Flags'],
    ['docs/cli.md', '## Flags'],
  ])('%s lists every flag with its default and description', (file, heading) => {
    const documented = tableAfter(read(file), heading).filter((row) => !['`-V, --version`', '`-h, --help`'].includes(row[0]!));
    expect(documented).toEqual(flagsFromCode().filter((row) => !['`-V, --version`'].includes(row[0]!)));
  });

  it('README lists every --json event type', () => {
    const documented = tableAfter(read('README.md'), '## JSON output').map((row) => row[0]!.replaceAll('`', ''));
    expect(documented).toEqual([...EVENT_TYPES]);
  });

  it('README names every field of every --json event, and no other', () => {
    for (const row of tableAfter(read('README.md'), '## JSON output')) {
      const type = row[0]!.replaceAll('`', '') as keyof typeof EVENT_FIELDS;
      // Field names are in backticks; the values a field takes follow it in parentheses.
      const fields = [...row[1]!.replace(/\([^)]*\)/g, '').matchAll(/`([^`]+)`/g)].map((m) => m[1]);
      expect(fields, `fields of ${type}`).toEqual([...EVENT_FIELDS[type]]);
    }
  });
});

describe('configuration and presets docs match the code', () => {
  it('docs/configuration.md lists every config key with its flag, type, default and description from the schema', () => {
    const program = buildProgram('0.0.0');
    const flags = new Map(program.options.map((o) => [o.attributeName(), o.flags]));
    const { properties } = configSchema();
    const expected = Object.entries(properties)
      .filter(([key]) => key !== '$schema')
      .map(([key, p]) => [
        `\`${key}\``,
        key === 'command' ? '`-- <command...>`' : flags.has(key) ? `\`${flags.get(key)}\`` : '—',
        p.type === 'array' ? 'string[]' : p.type,
        p.default === undefined ? '—' : `\`${JSON.stringify(p.default)}\``,
        p.description,
      ]);
    expect(tableAfter(read('docs/configuration.md'), '## Every option')).toEqual(expected);
  });

  it('every flag but --config, --version and --help is a config key with the same description, and back', () => {
    const program = buildProgram('0.0.0');
    const { properties } = configSchema();
    const fromFlags = program.options
      .filter((o) => !['config', 'version', 'help'].includes(o.attributeName()))
      .map((o) => [o.attributeName(), o.description]);
    const fromSchema = Object.entries(properties)
      .filter(([key]) => key !== '$schema' && key !== 'command')
      .map(([key, p]) => [key, p.description]);
    expect(fromSchema.sort()).toEqual(fromFlags.sort());
  });

  it('docs/presets.md lists exactly what --help says each preset sets', () => {
    const doc = read('docs/presets.md');
    for (const [name, items] of Object.entries(PRESET_SUMMARY)) {
      const section = doc.slice(doc.indexOf(`## ${name}`));
      const listed = section.split('\n').slice(2).filter((l) => l.startsWith('- ')).slice(0, items.length);
      expect(listed, name).toEqual(items.map((i) => `- ${i}`));
    }
    expect(presetHelp()).toContain(PRESET_SUMMARY.krakend[0]);
  });

  it('docs/troubleshooting.md covers every error code', () => {
    const doc = read('docs/troubleshooting.md');
    for (const code of ERROR_CODES) {
      expect(doc, code).toContain(code);
    }
  });
});

describe('the docs agree with each other and with the code', () => {
  /** The `baton … docker run … krakend.json` command in a text, continuation lines joined. */
  const dockerCommand = (text: string): string => {
    const joined = text.replace(/\\\n\s*/g, ' ').replace(/[ \t]+/g, ' ');
    const match = /baton [^`\n]*?-- docker run [^`\n]*?krakend\.json/.exec(joined);
    expect(match, 'a docker run command').not.toBeNull();
    return match![0].replace(/\s+/g, ' ');
  };

  it('the Docker recipe is the same command in the README, docs/krakend.md and run.sh', () => {
    const fromRunSh = dockerCommand(read('examples/krakend/docker-host/run.sh'));
    expect(dockerCommand(read('README.md'))).toBe(fromRunSh);
    expect(dockerCommand(read('docs/krakend.md'))).toBe(fromRunSh);
    expect(dockerCommand(read('examples/krakend/docker-host/README.md'))).toBe(fromRunSh);
  });

  it('the README names every X-Forwarded-* field the edge adds', () => {
    const judged = judgeRequest({ method: 'GET', target: '/', version: '1.1', fields: ['Host', 'h'], remoteAddress: '10.0.0.1', localAuthority: '127.0.0.1:8080' });
    const added = isRefusal(judged) ? [] : judged.fields.filter((_, i) => i % 2 === 0).filter((name) => name.startsWith('x-forwarded-'));
    expect(added).toHaveLength(4);
    const readme = read('README.md');
    for (const name of added) expect(readme.toLowerCase(), name).toContain(`\`${name}\``);
  });

  it('docs/cli.md states the duration range the code enforces', () => {
    expect(() => resolveOptions({ command: ['x'], readyTimeout: 0 })).toThrow(/from 1 to 2147483647/);
    expect(() => resolveOptions({ command: ['x'], debounce: 2 ** 31 })).toThrow(/from 0 to 2147483647/);
    const cli = read('docs/cli.md');
    expect(cli).toContain('`--ready-timeout` from 1 to 2147483647 ms');
    expect(cli).toContain('`--drain-timeout`, `--stop-timeout` and `--debounce` from 0 to 2147483647 ms');
  });
});
