import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SinkReply, SinkRequest } from './sink-host.js';

/** One sink in the sink process, by its port. */
export interface RemoteSink {
  readonly port: number;
  readonly url: string;
}

/** The sink process (sink-host.ts): starts sinks and reads their counts over IPC. */
export class SinkHost {
  private readonly child: ChildProcess;
  private nextId = 0;
  private readonly pending = new Map<number, (reply: SinkReply) => void>();

  /** With `pinned`, the sink process runs on CPU 1 (taskset), beside the load generator. */
  constructor(pinned: boolean) {
    const script = fileURLToPath(new URL('./sink-host.js', import.meta.url));
    const [command, args] = pinned ? ['taskset', ['-c', '1', process.execPath, script]] : [process.execPath, [script]];
    this.child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (reply: SinkReply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
  }

  async start(): Promise<RemoteSink> {
    const { port } = await this.ask({ id: this.nextId++, op: 'start' });
    return { port: port!, url: `http://127.0.0.1:${port}` };
  }

  /** Closes the sink and returns the spans it received. */
  async stop(sink: RemoteSink): Promise<number> {
    return (await this.ask({ id: this.nextId++, op: 'stop', port: sink.port })).received ?? 0;
  }

  close(): void {
    this.child.disconnect();
  }

  private ask(request: SinkRequest): Promise<SinkReply> {
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
      this.child.send(request);
    });
  }
}
