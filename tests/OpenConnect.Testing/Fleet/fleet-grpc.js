// One unary gRPC call over HTTP/2 + TLS for the fleet bed tests, run inside a host's namespace
// (ip netns exec … node fleet-grpc.js …): what a foreign host would send to steering's fleet
// listeners. Node's own http2 and tls modules; no gRPC library, so nothing is retried or hidden.
//
// Usage: node fleet-grpc.js --url https://HOST:PORT --path /package.Service/Method --body FILE
//                           --ca CA.crt [--cert CLIENT.crt --key CLIENT.key] [--timeout-ms 10000]
//
// FILE holds the request already framed (a 0 byte, a 4-byte big-endian length, the protobuf).
// Prints one JSON line: answered (an HTTP response arrived), status, grpcStatus and grpcMessage
// (from the trailers, or the headers of a trailers-only answer), body (base64), error (the
// connection's or stream's error code and message when it failed, or why no answer came).
'use strict';
const fs = require('fs');
const http2 = require('http2');

function parseArgs(argv) {
  const args = { timeoutMs: 10000 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    args[key] = argv[i + 1];
  }
  for (const required of ['url', 'path', 'body', 'ca']) {
    if (!args[required]) {
      throw new Error(`--${required} is required (usage: --url https://host:port --path /svc/Method --body file --ca ca.crt [--cert c --key k])`);
    }
  }
  if ((args.cert === undefined) !== (args.key === undefined)) {
    throw new Error('--cert and --key go together');
  }
  return args;
}

const args = parseArgs(process.argv);
const result = { answered: false, status: null, grpcStatus: null, grpcMessage: null, body: '', error: null };
let done = false;
let session;

function finish(error) {
  if (done) { return; }
  done = true;
  if (error && !result.error) {
    result.error = `${error.code || 'ERROR'}: ${error.message}`;
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  if (session) { session.destroy(); }
  process.exit(0);
}

function takeGrpc(headers) {
  if (headers['grpc-status'] !== undefined) { result.grpcStatus = Number(headers['grpc-status']); }
  if (headers['grpc-message'] !== undefined) { result.grpcMessage = decodeURIComponent(headers['grpc-message']); }
}

setTimeout(() => finish(new Error(`no answer within ${args.timeoutMs} ms`)), Number(args.timeoutMs)).unref();

const tls = { ca: fs.readFileSync(args.ca) };
if (args.cert) {
  tls.cert = fs.readFileSync(args.cert);
  tls.key = fs.readFileSync(args.key);
}
session = http2.connect(args.url, tls);
session.on('error', finish);
const chunks = [];
const stream = session.request({
  ':method': 'POST',
  ':path': args.path,
  'content-type': 'application/grpc',
  te: 'trailers',
});
stream.on('response', headers => {
  result.answered = true;
  result.status = headers[':status'];
  takeGrpc(headers);
});
stream.on('trailers', takeGrpc);
stream.on('data', chunk => chunks.push(chunk));
stream.on('error', finish);
// A server that refuses the client's certificate aborts the TLS connection before any HTTP/2
// exchange (with TLS 1.3 the client has already sent its Finished): the stream closes unanswered.
stream.on('close', () => {
  result.body = Buffer.concat(chunks).toString('base64');
  finish(result.answered ? null : new Error(`the connection closed without an HTTP response (stream reset code ${stream.rstCode})`));
});
stream.end(fs.readFileSync(args.body));
