/** What the candidate portal asks the matching engine over HTTP. */
export interface ScoreRequest {
  candidateId: string;
  jobId: string;
}

/** The matching engine's answer. */
export interface ScoreResult {
  candidateId: string;
  jobId: string;
  score: number;
  breakdown: { experience: number; skills: number; location: number };
  /** The tenant the engine read from baggage, echoed to show that baggage crossed the hop. */
  tenant: string | null;
}

/** The event the portal emits over TCP when a match was shown. */
export interface MatchViewed {
  candidateId: string;
  jobId: string;
  score: number;
}

/** Pattern of {@link MatchViewed}. */
export const MATCH_VIEWED = 'match.viewed';
