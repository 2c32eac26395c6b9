import type { ChildProcess } from 'node:child_process';

/**
 * The port a benchmark app (app.ts) listens on, read from the `listening <port>` line it prints once up; rejects,
 * with what it printed, if it exits first. `output` is everything the app printed so far.
 */
export function listeningPort(child: ChildProcess, output: () => string, label: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /listening (\d+)/.exec(output());
      if (match) resolve(Number(match[1]));
      else if (child.exitCode !== null) reject(new Error(`${label} exited:\n${output()}`));
      else return;
      clearInterval(timer);
    }, 50);
  });
}
