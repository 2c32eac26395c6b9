/** Counts of active handles and requests by type, as `process.getActiveResourcesInfo()` reports them. */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/**
 * The resource types of which more are active than in `before`, once sockets that were closing have had up to
 * `graceMillis` to finish (a closed server's clients see the FIN a moment later).
 */
export async function resourcesLeftSince(before: Map<string, number>, graceMillis = 2000): Promise<string[]> {
  const deadline = Date.now() + graceMillis;
  for (;;) {
    const now = activeResources();
    const grown = [...now].filter(([type, n]) => type !== 'TTYWrap' && n > (before.get(type) ?? 0)).map(([type]) => type);
    if (grown.length === 0 || Date.now() > deadline) return grown;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
