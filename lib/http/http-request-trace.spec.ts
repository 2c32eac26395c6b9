import { portNumber, portSeparator } from './http-request-trace.js';

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

describe('portNumber', () => {
  it.each(['example.com:8080', '127.0.0.1:3000', '[::1]:0', '[2001:db8::1]:443', 'host:0080', 'host:65535', 'host:99999999999999999999'])(
    'reads the port of %s as Number() does',
    (host) => {
      const from = portSeparator(host) + 1;
      expect(portNumber(host, from)).toBe(Number(host.slice(from)));
    },
  );
});
