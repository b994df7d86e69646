/**
 * client/constants: protocol names shared by client and proxy without importing the proxy (xsh
 * must not load server code). A unit test keeps them equal to proxy/listener.ts's ALPN table.
 */
export const ALPN_HTTP = 'http/1.1';
export const ALPN_REDIS = 'xport-redis';
export const ALPN_REDIS_MUX = 'xport-redis-mux';
