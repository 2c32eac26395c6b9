import { createServer, type Server, type Socket } from 'node:net';

/**
 * A protocol double on 127.0.0.1: it listens on a free port, cuts what each connection sends into whole frames,
 * and writes back whatever the subclass answers. Stopping it closes every connection, so no client is left hanging.
 */
export abstract class TcpDouble {
  private readonly sockets = new Set<Socket>();
  private connections = 0;

  protected constructor(private readonly server: Server) {
    server.on('connection', (socket) => this.serve(socket));
  }

  /** A server listening on a free port on 127.0.0.1, for a subclass's `start()`. */
  protected static async listen(): Promise<Server> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The length of the frame `pending` starts with (it holds at least 4 bytes), whole or not yet. */
  protected abstract frameLength(pending: Buffer): number;

  /** The reply to one whole frame from connection number `connection`, or undefined when none is due. */
  protected abstract answer(frame: Buffer, connection: number): Buffer | undefined;

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    const connection = ++this.connections;
    let pending = Buffer.alloc(0);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= this.frameLength(pending)) {
        const frame = pending.subarray(0, this.frameLength(pending));
        pending = pending.subarray(frame.length);
        const reply = this.answer(frame, connection);
        if (reply) socket.write(reply);
      }
    });
  }
}
