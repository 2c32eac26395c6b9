/** A port on 127.0.0.1 that was free a moment ago; shared with the benchmark's servers. */
export { freePort } from '../../bench/servers.js';
