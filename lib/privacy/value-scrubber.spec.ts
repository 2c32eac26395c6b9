import { createValueScrubber, passesLuhn } from './value-scrubber.js';

describe('the value scrubber', () => {
  const scrubber = createValueScrubber([], true, '[REDACTED]');

  it('replaces email addresses, also URL-encoded, and keeps the rest of the text', () => {
    expect(scrubber.scrub('no account for alice.o-brien+billing@mail.example.co.uk today')).toBe('no account for [REDACTED] today');
    expect(scrubber.scrub('q=1&to=alice%40example.com&page=2')).toBe('q=1&to=[REDACTED]&page=2');
    expect(scrubber.scrub('two: a@b.io, c@d.org')).toBe('two: [REDACTED], [REDACTED]');
    expect(scrubber.scrub('@nestjs/core and user@localhost')).toBe('@nestjs/core and user@localhost');
  });

  it('replaces card numbers that pass the Luhn check, and leaves other long numbers alone', () => {
    expect(scrubber.scrub('card 4111 1111 1111 1111 declined')).toBe('card [REDACTED] declined');
    expect(scrubber.scrub('card 4111-1111-1111-1111')).toBe('card [REDACTED]');
    expect(scrubber.scrub('5500005555555559')).toBe('[REDACTED]');
    expect(scrubber.scrub('order 4111111111111112 shipped')).toBe('order 4111111111111112 shipped');
    expect(scrubber.scrub('trace 1234567890123 id')).toBe('trace 1234567890123 id');
  });

  it('returns the same string when nothing matched', () => {
    const text = 'GET /items/42 took 12 ms';
    expect(scrubber.scrub(text)).toBe(text);
  });

  it('applies user patterns, with or without the g flag, and can leave the defaults out', () => {
    const custom = createValueScrubber([/customer-\d+/, /\bIBAN [A-Z0-9 ]+/g], false, '***');
    expect(custom.scrub('customer-42 paid from IBAN DE89 3704 0044, customer-7 too')).toBe('*** paid from ***, *** too');
    expect(custom.scrub('alice@example.com')).toBe('alice@example.com');
  });

  it('checks Luhn on digits only', () => {
    expect(passesLuhn('4111 1111 1111 1111')).toBe(true);
    expect(passesLuhn('4111 1111 1111 1112')).toBe(false);
    expect(passesLuhn('411111111111')).toBe(false);
  });
});
