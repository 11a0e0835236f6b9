// nginx as a peer in the bench: its config, written by one function for every scenario, and a one-process nginx to start.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import getPort from 'get-port';
import { start, stop, waitHttp } from './proc.mjs';

/**
 * An nginx.conf for one worker under `root` (pid, logs and temp folders there) listening on
 * 127.0.0.1:`port` and proxying to `backends` round-robin over kept-alive connections.
 * `master`: run a master process (needed for `nginx -s reload`); `location`: more lines for
 * the one location block.
 */
export function nginxConf({ root, port, backends, master = true, location = '' }) {
  return `daemon off;
master_process ${master ? 'on' : 'off'};
worker_processes 1;
user root;
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${root}/tmp/body;
  proxy_temp_path ${root}/tmp/proxy;
  fastcgi_temp_path ${root}/tmp/fastcgi;
  uwsgi_temp_path ${root}/tmp/uwsgi;
  scgi_temp_path ${root}/tmp/scgi;
  client_body_buffer_size 128k;
  proxy_buffers 16 16k;
  upstream backend { ${backends.map((p) => `server 127.0.0.1:${p};`).join(' ')} keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";${location ? `\n      ${location.trim().split('\n').join('\n      ')}` : ''}
    }
  }
}
`;
}

/**
 * nginx in one process (no master) under `dir`/`name`, proxying to `backends` on loopback.
 * `http`: more lines for the http block (e.g. `client_max_body_size 0;`).
 */
export async function startNginx(dir, name, backends, { http = '' } = {}) {
  const root = path.join(dir, name);
  mkdirSync(path.join(root, 'tmp'), { recursive: true });
  const port = await getPort({ host: '127.0.0.1' });
  const file = path.join(root, 'nginx.conf');
  const conf = nginxConf({ root, port, backends, master: false });
  writeFileSync(file, http ? conf.replace('  access_log off;', `  access_log off;\n  ${http}`) : conf);
  const child = start('nginx', ['-p', root, '-e', path.join(root, 'error.log'), '-c', file]);
  await waitHttp(port, { child });
  return { child, port, pid: child.pid, url: `http://127.0.0.1:${port}`, stop: () => stop(child, { signal: 'SIGQUIT' }) };
}
