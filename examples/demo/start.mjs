// `npm start`: the demo, baton in front of examples/demo/gateway.js, which serves the
// endpoints in examples/demo/demo.json. Flags go to baton: `npm start -- --port 9000`
// (or `PORT=9000 npm start`) moves the public port from 8080.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../dist/cli/main.js');
const shown = (file) => path.relative(process.cwd(), file) || file;
const config = shown(path.join(here, 'demo.json'));
const gateway = shown(path.join(here, 'gateway.js'));

const flags = process.argv.slice(2);
if (flags.includes('--')) {
  console.error('baton: the demo runs its own gateway — give baton flags only, e.g. npm start -- --port 9000');
  process.exit(2);
}
const hasPort = flags.some((f) => f === '-p' || f === '--port' || f.startsWith('--port='));
if (process.env.PORT && !hasPort) flags.unshift('--port', process.env.PORT);

process.argv = [process.argv[0], cli, ...flags, '--watch', config, '--', process.execPath, gateway, config];
await import(pathToFileURL(cli).href);
