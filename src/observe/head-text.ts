/** A head kept as text (request or status line, then field lines), read back as parts. */
export interface ParsedHead {
  /** The request line or status line. */
  line: string;
  headers: Array<[name: string, value: string]>;
}

export function parseHead(text: string | undefined): ParsedHead {
  if (!text) return { line: '', headers: [] };
  const [line = '', ...rest] = text.split('\r\n');
  const headers: Array<[string, string]> = [];
  for (const field of rest) {
    const colon = field.indexOf(':');
    if (colon > 0) headers.push([field.slice(0, colon), field.slice(colon + 1).trim()]);
  }
  return { line, headers };
}

/** A body for JSON: text when it is UTF-8, else base64. */
export function bodyJson(body: Buffer | undefined, truncated: boolean): { text?: string; base64?: string; size: number; truncated: boolean } | null {
  if (!body) return null;
  const text = body.toString('utf8');
  const clean = !text.includes('\uFFFD');
  return { ...(clean ? { text } : { base64: body.toString('base64') }), size: body.length, truncated };
}
