import { Controller, Get, Headers, Param } from '@nestjs/common';
import { TraceService } from 'nestjs-tracing';
import type { ScoreResult } from '../shared/scoring-contract.js';
import { MatchingClient } from './matching.client.js';

/** A match as the portal shows it, with the trace id to quote in a support ticket. */
export interface MatchView extends ScoreResult {
  traceId?: string;
}

@Controller('candidates')
export class MatchesController {
  constructor(
    private readonly matching: MatchingClient,
    private readonly traces: TraceService,
  ) {}

  /** `x-tenant-id` goes into baggage here, and the matching engine reads it from there. */
  @Get(':candidateId/matches/:jobId')
  match(
    @Param('candidateId') candidateId: string,
    @Param('jobId') jobId: string,
    @Headers('x-tenant-id') tenant = 'tenant-demo',
  ): Promise<MatchView> {
    this.traces.setAttributes({ 'candidate.id': candidateId, 'job.id': jobId });
    return this.traces.withBaggage({ 'tenant.id': tenant }, async () => {
      const result = await this.matching.score(candidateId, jobId);
      await this.matching.announceViewed({ candidateId, jobId, score: result.score });
      return { ...result, traceId: this.traces.traceId() };
    });
  }
}
