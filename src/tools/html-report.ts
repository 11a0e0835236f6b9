/** A self-contained HTML report: headings, paragraphs, tables and inline SVG charts, no script, nothing fetched. */
export type ReportPart =
  | { kind: 'heading'; text: string }
  | { kind: 'text'; text: string }
  | { kind: 'table'; header: readonly string[]; rows: ReadonlyArray<ReadonlyArray<string | number>> }
  | { kind: 'svg'; svg: string };

const esc = (s: unknown): string => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function htmlReport(title: string, parts: readonly ReportPart[]): string {
  const body = parts
    .map((part) => {
      switch (part.kind) {
        case 'heading':
          return `<h2>${esc(part.text)}</h2>`;
        case 'text':
          return `<p>${esc(part.text)}</p>`;
        case 'table':
          return `<table><thead><tr>${part.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${part.rows.map((row) => `<tr>${row.map((cell) => `<td>${esc(cell)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
        case 'svg':
          return `<figure>${part.svg}</figure>`;
      }
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 980px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; } th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: right; }
th { background: #f5f5f5; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1rem 0; } svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
${body}
</body>
</html>
`;
}
