#!/usr/bin/env node
// bench/node-pair: the floor for any TLS relay written in Node on this machine — one side of a
// plain→TLS→plain pair that only pipes bytes (no parsing, no audit, no multiplexing), with the
// same certificates and checks as the stunnel and HAProxy pairs. The access bench runs two of
// these as the "Node pipe pair" baseline, so xport's ratios can be read against what Node itself
// costs per TLS write and read here, next to what HAProxy and stunnel cost in C.
//
//   node bench/node-pair.js server LISTEN_PORT REDIS_PORT CERT KEY CLIENT_CA
//   node bench/node-pair.js client LISTEN_PORT SERVER_PORT CERT KEY SERVER_CA
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

const [side, listenPort, upstreamPort, certFile, keyFile, caFile] = process.argv.slice(2);
if (!['server', 'client'].includes(side) || !caFile) {
  console.error('usage: node bench/node-pair.js server|client LISTEN_PORT UPSTREAM_PORT CERT KEY CA');
  process.exit(2);
}
const cert = readFileSync(certFile);
const key = readFileSync(keyFile);
const ca = readFileSync(caFile);

/** splice pipes a and b into each other; either side closing closes the other. */
function splice(a, b) {
  a.setNoDelay?.(true);
  b.setNoDelay?.(true);
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', close);
  b.on('error', close);
  a.on('close', close);
  b.on('close', close);
}

let server;
if (side === 'server') {
  // TLS in, requiring the client certificate; plain out to Redis.
  server = tls.createServer({ cert, key, ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (s) => {
    splice(s, net.connect(Number(upstreamPort), '127.0.0.1'));
  });
} else {
  // Plain in; TLS out with the client certificate, verifying the server (shared context, as xport does).
  const context = tls.createSecureContext({ cert, key, ca, minVersion: 'TLSv1.2' });
  server = net.createServer((s) => {
    splice(s, tls.connect({ port: Number(upstreamPort), host: '127.0.0.1', servername: 'localhost', secureContext: context }));
  });
}
server.listen(Number(listenPort), '127.0.0.1', () => console.log(`node-pair ${side} listening on ${listenPort}`));
process.on('SIGTERM', () => process.exit(0));
