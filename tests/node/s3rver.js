// s3rver, an S3 emulator, for the origin's S3 object store tests (tests/OpenConnect.Testing/S3rver.cs).
// Usage: node s3rver.js DIRECTORY [BUCKET ...]
// Serves DIRECTORY on 127.0.0.1 on a free port, with the given buckets created, and prints the port
// as one line once it accepts connections. Credentials: access key S3RVER, secret S3RVER (other access
// keys are refused; SigV4 signatures are not verified). Exits when its standard input closes, so it
// never outlives the test process.
'use strict';
const S3rver = require('s3rver');

const [directory, ...buckets] = process.argv.slice(2);
if (!directory) {
  console.error('usage: node s3rver.js DIRECTORY [BUCKET ...]');
  process.exit(2);
}

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory,
  silent: true,
  configureBuckets: buckets.map(name => ({ name })),
});
server.run().then(
  ({ port }) => console.log(String(port)),
  err => {
    console.error(`s3rver did not start: ${err.message}`);
    process.exit(1);
  });

process.stdin.on('end', () => server.close(() => process.exit(0)));
process.stdin.resume();
