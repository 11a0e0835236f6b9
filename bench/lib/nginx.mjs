// nginx as a peer in the bench: its config, written by one function for every scenario.

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
