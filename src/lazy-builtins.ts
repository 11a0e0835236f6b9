import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Node's TLS, HTTPS and HTTP/2 modules, loaded on first use. Together they cost about
 * 4 MiB of memory, which a run without TLS never needs (baton's memory target is met
 * with little to spare: docs/performance.md).
 */
export const lazy = {
  get tls(): typeof import('node:tls') {
    return require('node:tls') as typeof import('node:tls');
  },
  get https(): typeof import('node:https') {
    return require('node:https') as typeof import('node:https');
  },
  get http2(): typeof import('node:http2') {
    return require('node:http2') as typeof import('node:http2');
  },
};
