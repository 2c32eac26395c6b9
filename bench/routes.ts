/** A request the benchmarks send, over and over. */
export interface Route {
  path: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

/**
 * The routes of the benchmark app (app.ts) by their `--routes` names. `/items/42` has a guard and a pipe, `/async`
 * two custom spans around `setImmediate` waits, `/json` a 20-item JSON body; `continued` is `/tiny` called by a
 * sampled upstream.
 */
export const ROUTES: Record<string, Route> = {
  tiny: { path: '/tiny', method: 'GET' },
  items: { path: '/items/42', method: 'GET', headers: { 'x-api-key': 'bench' } },
  async: { path: '/async', method: 'GET' },
  json: {
    path: '/json',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}` })) }),
  },
  health: { path: '/health', method: 'GET' },
  // /tiny called by a traced upstream: the context arrives in traceparent and tracestate (sampled).
  continued: {
    path: '/tiny',
    method: 'GET',
    headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' },
  },
};
