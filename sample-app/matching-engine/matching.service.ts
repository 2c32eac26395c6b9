import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { Span, TraceService } from 'nestjs-tracing';
import type { ScoreResult } from '../shared/scoring-contract.js';

/** A job whose skills index is "down": the sample's error trace. */
export const BROKEN_JOB = 'job-broken';

/**
 * Scores a candidate against a job. Each criterion runs in its own span; attributes carry opaque ids only,
 * never names or e-mails.
 */
@Injectable()
export class MatchingService {
  constructor(private readonly traces: TraceService) {}

  @Span('matching.score')
  async score(candidateId: string, jobId: string): Promise<ScoreResult> {
    const tenant = this.traces.getBaggage('tenant.id') ?? null;
    this.traces.setAttributes({ 'candidate.id': candidateId, 'job.id': jobId, 'tenant.id': tenant ?? 'none' });
    const [experience, skills, location] = await Promise.all([
      this.experience(candidateId, jobId),
      this.skills(candidateId, jobId),
      this.location(candidateId, jobId),
    ]);
    const score = Math.round(experience * 0.4 + skills * 0.45 + location * 0.15);
    this.traces.setAttributes({ 'match.score': score });
    return { candidateId, jobId, score, breakdown: { experience, skills, location }, tenant };
  }

  @Span('score.experience')
  async experience(candidateId: string, jobId: string): Promise<number> {
    return this.lookup(`${candidateId}/${jobId}/experience`, 8);
  }

  @Span('score.skills')
  async skills(candidateId: string, jobId: string): Promise<number> {
    if (jobId === BROKEN_JOB) {
      await pause(3);
      throw new ServiceUnavailableException('skills index unavailable');
    }
    this.traces.addEvent('skills.index.hit', { 'job.id': jobId });
    return this.lookup(`${candidateId}/${jobId}/skills`, 12);
  }

  @Span('score.location')
  async location(candidateId: string, jobId: string): Promise<number> {
    return this.lookup(`${candidateId}/${jobId}/location`, 4);
  }

  /** Stands in for a database call: a stable score for the key, after a short wait. */
  private async lookup(key: string, millis: number): Promise<number> {
    await pause(millis);
    let hash = 7;
    for (const char of key) hash = (hash * 31 + char.charCodeAt(0)) % 1_000_003;
    return 40 + (hash % 61);
  }
}

function pause(millis: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, millis));
}
