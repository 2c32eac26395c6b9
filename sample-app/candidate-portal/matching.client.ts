import { BadGatewayException, Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { MATCH_VIEWED, type MatchViewed, type ScoreResult } from '../shared/scoring-contract.js';

/** Injection token of the traced TCP client that carries events to the matching engine. */
export const MATCHING_EVENTS = Symbol('MATCHING_EVENTS');
/** Injection token of the matching engine's HTTP base URL. */
export const MATCHING_ENGINE_URL = Symbol('MATCHING_ENGINE_URL');

/** The portal's side of the matching engine: scores over HTTP, events over TCP. */
@Injectable()
export class MatchingClient implements OnApplicationShutdown {
  private readonly logger = new Logger(MatchingClient.name);

  constructor(
    @Inject(MATCHING_ENGINE_URL) private readonly baseUrl: string,
    @Inject(MATCHING_EVENTS) private readonly events: ClientProxy,
  ) {}

  /** The fetch is auto-instrumented: a CLIENT span, and traceparent and baggage headers on the request. */
  async score(candidateId: string, jobId: string): Promise<ScoreResult> {
    const response = await fetch(`${this.baseUrl}/scores`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ candidateId, jobId }),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) throw new BadGatewayException(`matching engine answered ${response.status}`);
    return (await response.json()) as ScoreResult;
  }

  /** Fire and forget: a lost event must not fail the request, so a failure is only logged. */
  async announceViewed(event: MatchViewed): Promise<void> {
    try {
      await firstValueFrom(this.events.emit(MATCH_VIEWED, event), { defaultValue: undefined });
    } catch (error) {
      this.logger.warn(`could not publish ${MATCH_VIEWED}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.events.close();
  }
}
