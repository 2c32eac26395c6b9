import { BadRequestException, Body, Controller, Post } from '@nestjs/common';
import type { ScoreRequest, ScoreResult } from '../shared/scoring-contract.js';
import { MatchingService } from './matching.service.js';

@Controller('scores')
export class ScoresController {
  constructor(private readonly matching: MatchingService) {}

  @Post()
  score(@Body() request: Partial<ScoreRequest>): Promise<ScoreResult> {
    if (typeof request.candidateId !== 'string' || typeof request.jobId !== 'string') {
      throw new BadRequestException('candidateId and jobId are required');
    }
    return this.matching.score(request.candidateId, request.jobId);
  }
}
