// autocannon, run programmatically with every latency kept: the shipped package's
// (src/tools/cannon.ts), which `baton compare` uses too. `npm run bench` builds first.
export { cannon } from '../../dist/tools/cannon.js';
