/**
 * net: address parsing and loopback helpers.
 */
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
