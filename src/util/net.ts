/**
 * net: address parsing and loopback helpers.
 */
import { isIP } from 'node:net';
import { badParameter } from '../errors.js';

/** HostPort is a parsed `host:port`. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * parseHostPort parses `host:port`, `[v6]:port` or `host` (with defaultPort). Throws bad-parameter
 * naming `what` on anything else.
 */
export function parseHostPort(input: string, defaultPort?: number, what = 'address'): HostPort {
  const s = input.trim().replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  let host: string;
  let portStr: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    portStr = v6[2];
  } else {
    const i = s.lastIndexOf(':');
    if (i >= 0 && s.indexOf(':') === i) {
      host = s.slice(0, i);
      portStr = s.slice(i + 1);
    } else if (i < 0) {
      host = s;
    } else {
      throw badParameter(`invalid ${what} "${input}"`, { hint: 'Use host:port, e.g. localhost:3080.' });
    }
  }
  const port = portStr === undefined ? defaultPort : Number(portStr);
  if (!host || port === undefined || !Number.isInteger(port) || port < 0 || port > 65535 || (portStr !== undefined && !/^\d+$/.test(portStr))) {
    throw badParameter(`invalid ${what} "${input}"`, { hint: 'Use host:port, e.g. localhost:3080.' });
  }
  return { host, port };
}

/** formatHostPort renders a HostPort, bracketing IPv6 literals. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** dialableHost turns a wildcard listen host into one a local client can dial. */
export function dialableHost(host: string): string {
  if (host === '0.0.0.0' || host === '' || host === '::' || host === '[::]') return '127.0.0.1';
  return host;
}

/** The source of a request that came with no usable address (in-process callers). */
const UNKNOWN_SOURCE = 'unknown';

/**
 * sourceKey normalises a client address for per-source limits (login throttling, connection caps,
 * log and audit rate limits): IPv4-mapped IPv6 as IPv4, other IPv6 as its
 * /64 prefix, anything that is not an address as "unknown" (keys stay bounded and well-formed).
 */
export function sourceKey(addr: string | undefined): string {
  if (!addr) return UNKNOWN_SOURCE;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!;
  const family = isIP(addr);
  if (family === 4) return addr;
  if (family !== 6) return UNKNOWN_SOURCE;
  return `${ipv6Groups(addr).slice(0, 4).join(':')}::/64`;
}

/** ipv6Groups expands an IPv6 address (without zone) into its 8 hex groups. */
function ipv6Groups(addr: string): string[] {
  const [head, tail] = addr.split('%')[0]!.toLowerCase().split('::') as [string, string | undefined];
  const parse = (s: string | undefined) => (s ? s.split(':') : []);
  const h = parse(head);
  const t = parse(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4 forms not caught above) counts as two groups.
  const fix = (gs: string[]) =>
    gs.flatMap((g) => {
      if (!g.includes('.')) return [g];
      const b = g.split('.').map(Number);
      return [((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16)];
    });
  const hh = fix(h);
  const tt = fix(t);
  const zeros = tail === undefined ? [] : Array<string>(Math.max(0, 8 - hh.length - tt.length)).fill('0');
  return [...hh, ...zeros, ...tt].map((g) => (parseInt(g, 16) || 0).toString(16));
}
