// Successes and failures in 100 ms buckets, with marked moments: the shipped package's
// (src/tools/timeline.ts). `npm run bench` builds first.
export { BUCKET_MS, Timeline } from '../../dist/tools/timeline.js';
