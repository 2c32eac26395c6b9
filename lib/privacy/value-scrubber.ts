/**
 * Finds personal data inside free text (an exception message, a URL, a query) and replaces it, leaving the rest
 * as it was. Email addresses and payment card numbers are found by default; a card number only counts when its
 * digits pass the Luhn check, so order numbers and other long ids are left alone.
 */
export interface ValueScrubber {
  /** `text` with every match replaced, or `text` itself (the same string) when nothing matched. */
  scrub(text: string): string;
}

/** An address, also URL-encoded (`%40`), as it appears in messages and query strings. */
export const EMAIL_PATTERN = /[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** 13 to 19 digits, optionally grouped by spaces or dashes: a candidate card number. */
const CARD_CANDIDATE = /\b\d(?:[ -]?\d){12,18}\b/g;

/** Builds a scrubber for the default patterns (unless `defaults` is false) and the user's own. */
export function createValueScrubber(userPatterns: readonly RegExp[], defaults: boolean, replacement: string): ValueScrubber {
  const patterns = userPatterns.map((pattern) => (pattern.global ? pattern : new RegExp(pattern.source, `${pattern.flags}g`)));
  return {
    scrub(text: string): string {
      let result = text;
      if (defaults) {
        // Cheap tests first: most values hold neither an @ nor a long run of digits.
        if (result.includes('@') || result.includes('%40')) result = result.replace(EMAIL_PATTERN, replacement);
        if (/\d{4}/.test(result)) result = result.replace(CARD_CANDIDATE, (match) => (passesLuhn(match) ? replacement : match));
      }
      for (const pattern of patterns) result = result.replace(pattern, replacement);
      return result;
    },
  };
}

/** The Luhn checksum of a card number's digits (separators ignored). */
export function passesLuhn(candidate: string): boolean {
  const digits = candidate.replace(/[ -]/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}
