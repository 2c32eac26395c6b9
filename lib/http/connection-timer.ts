import { releaseTimerContext } from '../sdk/context-manager.js';

/**
 * Node's socket keeps its one timer under a symbol of its own; found on the first socket, `null` if it has none
 * (a socket that is not Node's, such as HTTP/2's compatibility proxy): those timers are then left alone.
 */
let socketTimerKey: symbol | null | undefined;

/**
 * Node arms a kept-alive connection's idle timer as a response finishes, inside the context the response finished
 * in, and the timer lives until the connection's next request. So each idle connection kept its last request's
 * context alive, spans included: at full sampling enough survivors a scavenge for V8 to double the young
 * generation. Once the response has closed, the timer the socket holds belongs to the connection, not to the
 * request, and is taken out of the request's context; its callback (which closes an idle connection) then runs in
 * the empty context a connection starts in.
 */
export function releaseConnectionTimer(socket: object | null | undefined): void {
  if (!socket) return;
  if (socketTimerKey === undefined) socketTimerKey = Object.getOwnPropertySymbols(socket).find((key) => key.description === 'timeout') ?? null;
  if (socketTimerKey !== null) releaseTimerContext((socket as Record<symbol, unknown>)[socketTimerKey]);
}
