import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli-args.js';
import { EVENT_TYPES } from '../src/events.js';
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
});
