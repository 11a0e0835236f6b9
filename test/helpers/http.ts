import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request, on a fresh connection unless an agent is given; rejects on a network error. */
export function request(url: string, options: { method?: string; body?: string; headers?: Record<string, string>; agent?: http.Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent: options.agent ?? false, headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** GET a JSON body; fails the test on a non-200. */
export async function getJson(url: string): Promise<Record<string, unknown>> {
  const reply = await request(url);
  if (reply.status !== 200) throw new Error(`GET ${url} → ${reply.status}: ${reply.body}`);
  return JSON.parse(reply.body) as Record<string, unknown>;
}

/** Polls GET / until the fixture answers with `version`; throws after ~10 s. */
export async function waitForVersion(url: string, version: string): Promise<void> {
  let seen: unknown;
  for (let i = 0; i < 400; i++) {
    seen = (await getJson(url).catch((err: Error) => ({ version: err.message }))).version;
    if (seen === version) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`version ${version} never served (last seen: ${String(seen)})`);
}
