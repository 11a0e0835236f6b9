import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The files a report was written to, by kind. */
export type ReportFiles = Record<'markdown' | 'json' | 'svg' | 'html', string>;

/**
 * Writes `<name>.md`, `.json`, `.svg` and `.html` into `folder` (created if missing),
 * each through a temporary file renamed into place, so a report is never half-written.
 */
export function writeReport(folder: string, name: string, report: { markdown: string; json: unknown; svg: string; html: string }): ReportFiles {
  mkdirSync(folder, { recursive: true });
  const files: ReportFiles = {
    markdown: path.join(folder, `${name}.md`),
    json: path.join(folder, `${name}.json`),
    svg: path.join(folder, `${name}.svg`),
    html: path.join(folder, `${name}.html`),
  };
  const contents: Record<keyof ReportFiles, string> = { markdown: report.markdown, json: `${JSON.stringify(report.json, null, 2)}\n`, svg: report.svg, html: report.html };
  for (const kind of Object.keys(files) as Array<keyof ReportFiles>) {
    const temp = `${files[kind]}.${process.pid}.tmp`;
    writeFileSync(temp, contents[kind]);
    renameSync(temp, files[kind]);
  }
  return files;
}
