import { portSeparator } from './http-request-trace.js';

describe('portSeparator', () => {
  it.each([
    ['example.com:8080', 11],
    ['127.0.0.1:3000', 9],
    ['[::1]:3000', 5],
    ['[2001:db8::1]:443', 13],
  ])('finds the port of %s', (host, at) => {
    expect(portSeparator(host)).toBe(at);
  });

  it.each(['example.com', '[::1]', '[2001:db8::1]', 'host:', 'host:abc', '8080', ':'])('finds no port in %s', (host) => {
    expect(portSeparator(host)).toBe(-1);
  });
});
