// Ingests one video file through the origin's real TUS endpoint as an uploader account, waits until
// the pipeline has published it, and prints one JSON line:
// {"titleId":…,"channelId":…,"uploadUrl":…,"seconds":…}. Used by ./run.sh for the demo.
// Registering makes a viewer; an uploader needs an admin. On first use the account is registered
// with an invite code the admin creates (--admin-password-file, the built-in admin's password); an
// existing account that is not an uploader is granted the role by the admin.
//
// Usage: node scripts/ingest.mjs --origin URL --file PATH --user NAME --password-file PATH
//        [--admin-password-file PATH] [--title TEXT] [--timeout-seconds 900]
import { readFileSync, statSync, createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import * as tus from 'tus-js-client';

function parseArgs(argv) {
  const args = { timeoutSeconds: 900 };
  for (let i = 2; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) { fail(`bad argument ${argv[i]}`); }
    args[argv[i].slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = argv[i + 1];
  }
  for (const k of ['origin', 'file', 'user', 'passwordFile']) { if (!args[k]) { fail(`--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} is required`); } }
  if (!existsSync(args.file)) { fail(`no file ${args.file}`); }
  return args;
}

function fail(message) {
  console.error('ingest: ' + message);
  process.exit(1);
}

async function json(url, options = {}) {
  const response = await fetch(url, { ...options, headers: { 'content-type': 'application/json', ...(options.headers || {}) } });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const describe = (r) => `HTTP ${r.status} ${JSON.stringify(r.body)}`;
const logIn = (name, secret) => json(`${origin}/api/v1/auth/login`, { method: 'POST', body: JSON.stringify({ name, password: secret }) });

// The admin's token, from the built-in admin's password file.
async function adminToken() {
  if (!args.adminPasswordFile) { fail(`${args.user} is not an uploader yet and only an admin can make one: pass --admin-password-file`); }
  const admin = await logIn('admin', readFileSync(args.adminPasswordFile, 'utf8').trim());
  if (admin.status !== 200) { fail(`logging in as admin: ${describe(admin)}`); }
  return admin.body.token;
}

// Logs in as the uploader: registers it with an admin's invite code on first use, or has the admin
// grant the role to an existing account that lacks it (its tokens are revoked, so log in again).
async function uploaderLogin() {
  let login = await logIn(args.user, password);
  if (login.status === 401) {
    const admin = await adminToken();
    const invite = await json(`${origin}/api/v1/invites`, { method: 'POST', body: JSON.stringify({ expiresInSeconds: 600 }), headers: { authorization: 'Bearer ' + admin } });
    if (invite.status !== 201) { fail(`creating an invite: ${describe(invite)}`); }
    const registered = await json(`${origin}/api/v1/auth/register`, { method: 'POST', body: JSON.stringify({ name: args.user, password, invite: invite.body.code }) });
    if (registered.status !== 201) { fail(`registering ${args.user}: ${describe(registered)} (delete the password file and the state directory to start over)`); }
    login = await logIn(args.user, password);
  }
  if (login.status !== 200) { fail(`logging in as ${args.user}: ${describe(login)} (delete the password file and the state directory to start over)`); }
  if (login.body.user.role === 'viewer') {
    const admin = await adminToken();
    const granted = await json(`${origin}/api/v1/users/${login.body.user.id}/uploader`, { method: 'PUT', headers: { authorization: 'Bearer ' + admin } });
    if (granted.status !== 200) { fail(`granting ${args.user} the uploader role: ${describe(granted)}`); }
    login = await logIn(args.user, password);
    if (login.status !== 200) { fail(`logging in as ${args.user}: ${describe(login)}`); }
  }
  return login;
}

const args = parseArgs(process.argv);
const origin = args.origin.replace(/\/$/, '');
const password = readFileSync(args.passwordFile, 'utf8').trim();
const login = await uploaderLogin();
const { token, user } = login.body;

const started = Date.now();
const size = statSync(args.file).size;
const uploadUrl = await new Promise((resolve, reject) => {
  const upload = new tus.Upload(createReadStream(args.file), {
    endpoint: `${origin}/files/`,
    uploadSize: size,
    chunkSize: 8 * 1024 * 1024,
    retryDelays: [0, 1000, 3000],
    headers: { authorization: 'Bearer ' + token },
    metadata: { filename: path.basename(args.file), filetype: 'video/mp4', title: args.title || path.basename(args.file).replace(/\.[^.]+$/, ''), description: 'Ingested by ./run.sh', tags: 'demo' },
    onError: (e) => reject(new Error(`upload failed: ${e.message}`)),
    onSuccess: () => resolve(upload.url),
  });
  upload.start();
}).catch((e) => fail(e.message));

const uploadId = uploadUrl.split('/').pop();
// Upload and title status are the uploader's (and admins'): ask with the token.
const asUploader = { authorization: 'Bearer ' + token };
const deadline = Date.now() + Number(args.timeoutSeconds) * 1000;
let titleId = null;
let last = '';
while (Date.now() < deadline) {
  if (!titleId) {
    const u = await json(`${origin}/api/uploads/${uploadId}`, { headers: asUploader });
    if (u.body.state === 'rejected') { fail(`the origin rejected the file: ${u.body.reason}`); }
    titleId = u.body.titleId;
  }
  if (titleId) {
    const t = await json(`${origin}/api/titles/${titleId}`, { headers: asUploader });
    if (t.body.state === 'published') {
      console.log(JSON.stringify({ titleId, channelId: user.channelId, uploadUrl, seconds: (Date.now() - started) / 1000 }));
      process.exit(0);
    }
    if (t.body.state === 'failed' || t.body.state === 'rejected') { fail(`title ${titleId} ${t.body.state}: ${t.body.reason}`); }
    // One line per step and per 10 % within it.
    const line = `${t.body.state} ${t.body.step || ''} ${Math.floor((t.body.percent || 0) / 10) * 10} %`;
    if (line !== last) { console.error(`  ${titleId}: ${line}`); last = line; }
  }
  await new Promise((r) => setTimeout(r, 1000));
}
fail(`title ${titleId || '(not created)'} was not published within ${args.timeoutSeconds} s`);
