/**
 * Where a request may go. Servers hand us URLs (redirects, pagination links, token realms, index entries); these rules
 * decide which of them are fetched at all, whatever a hostile server or its DNS says:
 * - link-local and cloud instance-metadata addresses are never connected to (169.254.0.0/16 per RFC 3927, fe80::/10
 *   per RFC 4291 §2.5.6, AWS's fd00:ec2::254, and the metadata addresses other clouds use outside those ranges), checked
 *   on IP literals before a request and on every address DNS returns, at connect time (so DNS rebinding cannot slip a
 *   metadata address in after the check);
 * - a redirect stays on the host it came from unless the user named the other host (`--follow-redirects`);
 * - HTTPS never falls back to plain HTTP off loopback.
 * @module
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';

/** Cloud metadata endpoints outside the link-local ranges (Alibaba Cloud, Azure WireServer, Oracle Cloud). */
const METADATA_V4 = new Set(['100.100.100.200', '168.63.129.16', '192.0.0.192']);

/** `[::1]:5000` / `host:443` / `host` → the bare host name or address, lower case. */
export function hostnameOf(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') < 0 ? undefined : h.indexOf(']'));
  const colons = h.split(':').length - 1;
  return colons === 1 ? h.slice(0, h.indexOf(':')) : h;
}

export function isLoopback(host: string): boolean {
  const h = hostnameOf(host);
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

function ipv4Bytes(a: string): number[] | undefined {
  const parts = a.split('.');
  if (parts.length !== 4) return undefined;
  const b = parts.map(Number);
  return b.every((x) => Number.isInteger(x) && x >= 0 && x <= 255) ? b : undefined;
}

/** IPv6 text → 16 bytes (with an embedded dotted IPv4 tail), or undefined. */
function ipv6Bytes(a: string): number[] | undefined {
  let s = a.replace(/%.*$/, '');
  let tail: number[] = [];
  const dotted = s.match(/:(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const v4 = ipv4Bytes(dotted[1]);
    if (!v4) return undefined;
    tail = v4;
    s = `${s.slice(0, -dotted[1].length)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const words = (x: string) => (x ? x.split(':').map((w) => parseInt(w, 16)) : []);
  const head = words(halves[0]);
  const rest = halves.length === 2 ? words(halves[1]) : [];
  const fill = 8 - head.length - rest.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...rest];
  if (all.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined;
  const bytes = all.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/**
 * Why an address must never be connected to, or undefined when it may be. `address` is an IP literal (IPv4, IPv6,
 * IPv4-mapped IPv6); a name is not an address and passes (its resolved addresses are checked at connect time).
 */
export function blockedAddress(address: string): string | undefined {
  const a = hostnameOf(address);
  const kind = isIP(a);
  if (kind === 4) return blockedV4(ipv4Bytes(a)!);
  if (kind !== 6) return undefined;
  const b = ipv6Bytes(a);
  if (!b) return undefined;
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms reach the IPv4 address.
  if (b.slice(0, 10).every((x) => x === 0) && ((b[10] === 0xff && b[11] === 0xff) || (b[10] === 0 && b[11] === 0 && b[12] !== 0)))
    return blockedV4(b.slice(12));
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return 'an IPv6 link-local address (fe80::/10)';
  // AWS instance metadata over IPv6 (fd00:ec2::254).
  if (b[0] === 0xfd && b[1] === 0 && b[2] === 0x0e && b[3] === 0xc2 && b.slice(4, 14).every((x) => x === 0) && b[14] === 0x02 && b[15] === 0x54)
    return 'a cloud instance-metadata address (fd00:ec2::254)';
  return undefined;
}

function blockedV4(b: number[]): string | undefined {
  if (b[0] === 169 && b[1] === 254) return 'a link-local address (169.254.0.0/16, where cloud instance metadata lives)';
  if (METADATA_V4.has(b.join('.'))) return `a cloud instance-metadata address (${b.join('.')})`;
  return undefined;
}

/** The shape of `dns.lookup` with `{ all: true }`: every address a name resolves to. */
export type Resolver = (
  hostname: string,
  options: LookupOptions & { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export type LookupFn = (
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/**
 * A `lookup` for net/tls.connect that refuses names resolving to a blocked address: the check runs on the addresses
 * the socket will really use, after DNS, so a name that resolves differently on the second query gains nothing.
 * `resolve` is the system resolver unless a test gives its own.
 */
export function guardLookup(resolve: Resolver = dnsLookup as unknown as Resolver): LookupFn {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, list) => {
      if (err) return callback(err, '', 0);
      for (const a of list) {
        const why = blockedAddress(a.address);
        if (why) {
          const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${a.address}, ${why}; never fetched`);
          e.code = 'ERR_SHELFLIFE_BLOCKED_ADDRESS';
          return callback(e, '', 0);
        }
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/**
 * `--follow-redirects` entries: `host`, `host:port` or `*.example.com` (any subdomain). A redirect may go to the
 * request's own host name (any port or scheme, subject to the downgrade rule) or to a host the user listed.
 */
export function hostAllowed(host: string, from: string, allowed: readonly string[] = []): boolean {
  const name = hostnameOf(host);
  if (name === hostnameOf(from)) return true;
  for (const raw of allowed) {
    const p = raw.trim().toLowerCase();
    if (!p) continue;
    if (p.startsWith('*.')) {
      if (name.endsWith(p.slice(1)) && name.length > p.length - 1) return true;
    } else if (p.includes(':') && !p.startsWith('[') ? p === host.toLowerCase() : hostnameOf(p) === name) return true;
  }
  return false;
}
