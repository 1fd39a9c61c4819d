// The reference TUS server for the ingest bench: @tus/server with @tus/file-store, as documented.
// Usage: node tus-reference-server.js --port N --directory PATH
// Prints "listening PORT" once it accepts connections.
'use strict';
const { Server } = require('@tus/server');
const { FileStore } = require('@tus/file-store');

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
if (!args.port || !args.directory) {
  console.error('usage: node tus-reference-server.js --port N --directory PATH');
  process.exit(2);
}

const server = new Server({ path: '/files', datastore: new FileStore({ directory: args.directory }) });
server.listen({ host: '127.0.0.1', port: Number(args.port) }, () => console.log(`listening ${args.port}`));
