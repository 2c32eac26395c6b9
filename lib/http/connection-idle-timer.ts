import { AsyncLocalStorage } from 'node:async_hooks';
import { Socket } from 'node:net';

/** Calls a function in the async context of this module's loading, which belongs to no request. */
const outsideRequests = AsyncLocalStorage.snapshot();
const socketSetTimeout = Socket.prototype.setTimeout;

/** A socket of Node's HTTP server: `_httpMessage` is the response it carries, null between responses. */
interface ServerSocket extends Socket {
  _httpMessage?: unknown;
}

function armTimer(socket: Socket, msecs: number): Socket {
  return socketSetTimeout.call(socket, msecs);
}

/**
 * `setTimeout` of the sockets that carried a traced request. When a response finishes on a kept-alive connection,
 * Node arms the connection's idle timer from the response's `finish`, that is inside the request's async context,
 * and the timer keeps that context (the request's spans and their ids) until the connection's next request
 * replaces it. Under load every open connection holds one, so each young-generation collection found them alive
 * and copied them: on the benchmark at sampling 1.0 V8 took that for a young generation too small and doubled it
 * to 128 MB within a minute (peak RSS 262 MB, against 205 MB and 64 MB with the timer armed here). The idle timer
 * belongs to the connection, and nothing of the request runs from it, so it is armed outside any request. A
 * timeout set while a response is under way (`request.setTimeout`, `response.setTimeout`) or with a callback is
 * left as it was: its listeners run in the request's context, as they always did.
 */
function setTimeoutOutsideRequests(this: ServerSocket, msecs: number, callback?: () => void): Socket {
  if (callback !== undefined || this._httpMessage) return socketSetTimeout.call(this, msecs, callback);
  return outsideRequests(armTimer, this, msecs);
}

/**
 * Makes the socket arm its idle timers outside the requests it carries ({@link setTimeoutOutsideRequests}), once
 * per connection, when it uses Node's own `setTimeout` (an HTTP/2 compatibility socket or a patched one is left
 * alone). Every socket gets it with its first request, so sockets keep one shape.
 */
export function armIdleTimersOutsideRequests(socket: Socket): void {
  if (socket.setTimeout === socketSetTimeout) socket.setTimeout = setTimeoutOutsideRequests;
}
