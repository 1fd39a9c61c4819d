// Uploads one file with tus-js-client (the real client the web app and partners use).
// Usage: node tus-upload.js --endpoint URL --file PATH [--chunk-size BYTES] [--parallel N]
//        [--metadata JSON] [--upload-url URL (resume)] [--kill-after-bytes N]
// Prints one JSON line per event: {"event":"url","url":...} when the upload URL is known and
// {"event":"done","url":...,"bytes":...,"ms":...} at the end. With --kill-after-bytes the process
// kills itself with SIGKILL once that many bytes went out, cutting a PATCH mid-body.
'use strict';
const fs = require('fs');
const tus = require('tus-js-client');

function parseArgs(argv) {
  const args = {};
  for (let i = 2; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  return args;
}

const args = parseArgs(process.argv);
if (!args.endpoint || !args.file) {
  console.error('usage: node tus-upload.js --endpoint URL --file PATH [options]');
  process.exit(2);
}

const size = fs.statSync(args.file).size;
const killAfter = args['kill-after-bytes'] ? Number(args['kill-after-bytes']) : null;
const started = process.hrtime.bigint();
const parallel = args.parallel ? Number(args.parallel) : 1;
const options = {
  endpoint: args.endpoint,
  // tus-js-client reads the size of a file stream itself; it refuses uploadSize with parallelUploads.
  uploadSize: parallel > 1 ? undefined : size,
  chunkSize: args['chunk-size'] ? Number(args['chunk-size']) : Infinity,
  parallelUploads: parallel,
  metadata: args.metadata ? JSON.parse(args.metadata) : {},
  retryDelays: [100, 300, 1000],
  storeFingerprintForResuming: false,
  removeFingerprintOnSuccess: false,
  onUploadUrlAvailable() {
    console.log(JSON.stringify({ event: 'url', url: upload.url }));
  },
  onProgress(sent) {
    if (killAfter !== null && sent >= killAfter) {
      process.kill(process.pid, 'SIGKILL');
    }
  },
  onError(error) {
    console.error(`upload failed: ${error}`);
    process.exit(1);
  },
  onSuccess() {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(JSON.stringify({ event: 'done', url: upload.url, bytes: size, ms }));
  },
};
if (args['upload-url']) options.uploadUrl = args['upload-url'];

const upload = new tus.Upload(fs.createReadStream(args.file), options);
upload.start();
