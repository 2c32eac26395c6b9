import { propagation, type Context, type TextMapPropagator, type TextMapSetter } from '@opentelemetry/api';
import diagnostics from 'node:diagnostics_channel';

/** What the filter reads of an undici request (`undici:request:create`, used by `fetch`). */
interface UndiciRequestLike {
  readonly origin?: string | URL;
  headers: string[] | string;
}

const UNDICI_CHANNEL = 'undici:request:create';

/**
 * Keeps the `baggage` header off outgoing calls to hosts that may not receive it. Baggage travels with every call
 * the trace context does, third-party APIs included, and a propagator cannot tell where a call goes. So:
 * - `http` requests: instrumentation-http reports each request's host to {@link noteOutgoingHost} just before it
 *   injects the headers, and the propagator from {@link guard} then injects the context without baggage;
 * - `fetch` (undici): the `undici:request:create` channel shows the origin after the headers were added, and the
 *   `baggage` header is taken out there.
 */
export class OutgoingBaggageFilter {
  /** Whether a host may receive baggage; every host by default. */
  allows: (host: string) => boolean = () => true;
  private installed = false;
  /** The host of the `http` request whose headers are being injected now (set and used in one synchronous call). */
  private pendingHost?: string;

  /** Told by instrumentation-http's start hook where the request it is about to inject into goes. */
  noteOutgoingHost(options: { hostname?: string | null; host?: string | null }): void {
    this.pendingHost = hostOf(options.hostname ?? options.host ?? undefined);
  }

  /** `propagator`, dropping baggage from the context it injects when the pending `http` host may not have it. */
  guard(propagator: TextMapPropagator): TextMapPropagator {
    return {
      inject: (context: Context, carrier: unknown, setter: TextMapSetter) => {
        const host = this.pendingHost;
        this.pendingHost = undefined;
        const allowed = host === undefined || this.allows(host);
        propagator.inject(allowed ? context : propagation.deleteBaggage(context), carrier, setter);
      },
      extract: (context, carrier, getter) => propagator.extract(context, carrier, getter),
      fields: () => propagator.fields(),
    };
  }

  private readonly onUndiciRequest = (message: unknown) => {
    const request = (message as { request?: UndiciRequestLike }).request;
    if (!request?.origin) return;
    let host: string;
    try {
      host = new URL(String(request.origin)).hostname;
    } catch {
      return;
    }
    if (!this.allows(hostOf(host) ?? '')) request.headers = withoutBaggage(request.headers);
  };

  /** Subscribes (again, so that it runs after the undici instrumentation added its headers). */
  install(): void {
    this.uninstall();
    diagnostics.subscribe(UNDICI_CHANNEL, this.onUndiciRequest);
    this.installed = true;
  }

  uninstall(): void {
    if (!this.installed) return;
    diagnostics.unsubscribe(UNDICI_CHANNEL, this.onUndiciRequest);
    this.installed = false;
  }
}

/** A host name without brackets or port, in lower case. */
function hostOf(host: string | undefined): string | undefined {
  return host === undefined ? undefined : host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
}

/** undici keeps headers as a flat name/value array (v6+) or as raw `name: value\r\n` text (v5). */
function withoutBaggage(headers: string[] | string): string[] | string {
  if (typeof headers === 'string') return headers.replace(/^baggage:[^\r\n]*\r\n/gim, '');
  const kept: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (String(headers[i]).toLowerCase() !== 'baggage') kept.push(headers[i], headers[i + 1]);
  }
  return kept;
}
