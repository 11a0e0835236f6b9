// The charts are the shipped package's (src/tools/svg-chart.ts), so `baton compare`,
// `baton bench reload` and these scenarios draw the same way. `npm run bench` builds first.
export { chart } from '../../dist/tools/svg-chart.js';
