import ipaddr from 'ipaddr.js';

/**
 * The key a client's address is limited under: an IPv4 address as it is (also when it arrives
 * IPv4-mapped, `::ffff:a.b.c.d`), an IPv6 address by its /64 (one subscriber is given a whole /64,
 * so counting single IPv6 addresses would let one client rotate through 2^64 of them).
 * `req.ip` is what express decided the client is under the gateway's `trust proxy` setting.
 */
export function clientAddressKey(ip: string | undefined): string {
  if (!ip || !ipaddr.isValid(ip)) return 'unknown';
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}
