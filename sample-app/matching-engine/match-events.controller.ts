import { Controller, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TraceService } from 'nestjs-tracing';
import { MATCH_VIEWED, type MatchViewed } from '../shared/scoring-contract.js';

/** Consumes the portal's events over TCP; its span continues the portal's trace. */
@Controller()
export class MatchEventsController {
  private readonly logger = new Logger(MatchEventsController.name);

  constructor(private readonly traces: TraceService) {}

  @EventPattern(MATCH_VIEWED)
  viewed(@Payload() event: MatchViewed): void {
    this.traces.setAttributes({ 'candidate.id': event.candidateId, 'job.id': event.jobId, 'match.score': event.score });
    this.logger.log(`match viewed: ${event.candidateId} x ${event.jobId} = ${event.score}`);
  }
}
