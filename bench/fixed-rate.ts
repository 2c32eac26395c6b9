import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** What a fixed-rate run measured: latencies in ms from when each request was due, not from when it went out. */
export interface FixedRateResult {
  /** Requests answered per second over the run. */
  readonly served: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  /** Requests that failed or got a status other than 2xx. */
  readonly errors: number;
}

/** What the load is: where, how often, over how many kept-alive connections, for how long. */
export interface FixedRateLoad {
  readonly port: number;
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Requests a second, evenly spaced. */
  readonly rate: number;
  readonly connections: number;
  readonly seconds: number;
}

/**
 * Sends requests at a fixed rate, each on its own schedule whatever became of the ones before (an open loop), and
 * measures each from the moment it was due. A request that finds every connection busy waits for one, and that
 * wait counts: a stall of the app shows as the latency of every request due during it, as users would see it,
 * where a closed loop (a client that sends only after an answer) would send fewer requests during the stall and hide
 * it. Latencies are kept exactly, to the microsecond, and ranked at the end.
 */
export async function fixedRateLatency(load: FixedRateLoad): Promise<FixedRateResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: load.connections });
  const total = Math.max(1, Math.round(load.rate * load.seconds));
  const latencies = new Float64Array(total);
  const interval = 1000 / load.rate;
  let answered = 0;
  let errors = 0;
  let sent = 0;
  let settled = 0;
  const start = performance.now();
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const settle = (due: number, ok: boolean): void => {
    if (ok) latencies[answered++] = performance.now() - due;
    else errors++;
    if (++settled === total) finish();
  };
  const send = (due: number): void => {
    // A request settles once, whichever of its response's end and its errors comes first.
    let open = true;
    const settleOnce = (ok: boolean): void => {
      if (!open) return;
      open = false;
      settle(due, ok);
    };
    const outgoing = request(
      { agent, host: '127.0.0.1', port: load.port, path: load.path, method: load.method, headers: load.headers },
      (response) => {
        const ok = response.statusCode !== undefined && response.statusCode < 300;
        response.on('error', () => settleOnce(false));
        response.on('end', () => settleOnce(ok));
        response.resume();
      },
    );
    outgoing.on('error', () => settleOnce(false));
    outgoing.end(load.body);
  };
  // Timers fire a millisecond apart at best: each tick sends every request that has fallen due since the last.
  const ticker = setInterval(() => {
    const now = performance.now();
    while (sent < total && start + sent * interval <= now) send(start + interval * sent++);
    if (sent === total) clearInterval(ticker);
  }, 1);
  // An app that stops answering must not hold the run: what is unanswered by then counts as failed.
  const deadline = setTimeout(finish, (load.seconds + 30) * 1000);
  await done;
  clearTimeout(deadline);
  clearInterval(ticker);
  errors += total - settled;
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  const ranked = latencies.subarray(0, answered).sort();
  const at = (quantile: number): number => (answered === 0 ? Number.NaN : ranked[Math.min(answered - 1, Math.floor(quantile * answered))]);
  return { served: answered / elapsed, p50: at(0.5), p99: at(0.99), p999: at(0.999), errors };
}
