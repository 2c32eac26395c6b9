/** How much of a client's IP address spans keep: all of it, its network only (IPv4 /24, IPv6 /48), or none. */
export type ClientAddressMode = 'full' | 'truncated' | 'none';

/**
 * The address as the mode keeps it: `203.0.113.0` for `203.0.113.42` truncated, `2001:db8:85a3::` for an IPv6
 * address; an IPv4-mapped IPv6 address (`::ffff:203.0.113.42`) is truncated as IPv4. Undefined for `none`, and
 * for anything that is not an IP address when truncating.
 */
export function keepClientAddress(address: string, mode: ClientAddressMode): string | undefined {
  if (mode === 'full') return address;
  if (mode === 'none') return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/.exec(mapped ? mapped[1] : address);
  if (ipv4) return `${ipv4[1]}.${ipv4[2]}.${ipv4[3]}.0`;
  if (!address.includes(':')) return undefined;
  const [head] = address.split('%');
  const groups = expandIpv6(head);
  return groups ? `${groups.slice(0, 3).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::` : undefined;
}

/** The eight groups of an IPv6 address, `::` expanded; undefined when it is not one. */
function expandIpv6(address: string): string[] | undefined {
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...left, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...right];
  return groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g)) ? groups : undefined;
}
