import { keepClientAddress } from './client-address.js';

describe('keepClientAddress', () => {
  it.each([
    ['203.0.113.42', 'full', '203.0.113.42'],
    ['203.0.113.42', 'truncated', '203.0.113.0'],
    ['::ffff:203.0.113.42', 'truncated', '203.0.113.0'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', 'truncated', '2001:db8:85a3::'],
    ['2001:0db8:0000::1', 'truncated', '2001:db8:0::'],
    ['::1', 'truncated', '0:0:0::'],
    ['fe80::1%eth0', 'truncated', 'fe80:0:0::'],
    ['not-an-ip', 'truncated', undefined],
    ['203.0.113.42', 'none', undefined],
  ] as const)('%s kept %s is %s', (address, mode, expected) => {
    expect(keepClientAddress(address, mode)).toBe(expected);
  });
});
