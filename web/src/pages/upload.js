// Upload: tus-js-client to the origin's /files/ with a progress bar. The upload URL is remembered
// (tus-js-client's fingerprint → URL storage in localStorage), so after a reload choosing the same
// file resumes where the bytes stopped; a dropped connection is retried with back-off, and after the
// browser went offline the upload carries on when it is back online. When the last
// byte is in, the page follows the pipeline (step and percent) until the title is playable, or shows
// why the file was rejected.
import * as tus from 'tus-js-client';
import { h } from '../dom.js';
import { api, auth } from '../api.js';
import { navigate } from '../main.js';

const CHUNK_BYTES = 1024 * 1024;

export async function uploadPage(main) {
  document.title = 'Upload · OpenConnect';
  const user = auth.user;
  if (!user) { navigate('/login?next=/upload'); return null; }
  if (user.role === 'viewer') {
    main.replaceChildren(h('h1', {}, 'Upload'), h('p', {}, 'Your account is a viewer account; uploading needs an uploader account.'));
    return null;
  }

  const file = h('input', { type: 'file', name: 'file', accept: 'video/*,.mp4,.mov,.mkv,.webm', required: '' });
  const title = h('input', { name: 'title', maxlength: '200', required: '' });
  const description = h('textarea', { name: 'description', rows: '3', maxlength: '5000' });
  const tags = h('input', { name: 'tags', placeholder: 'comma, separated' });
  const start = h('button', { type: 'submit' }, 'Upload');
  const bar = h('progress', { max: '100', value: '0', 'data-testid': 'upload-progress' });
  const barText = h('span', { class: 'muted', 'data-testid': 'upload-text' });
  const processing = h('div', { class: 'processing', 'data-testid': 'processing' });
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'upload-error' });
  const pending = h('div', { class: 'pending' });
  const form = h('form', { class: 'form' }, h('h1', {}, 'Upload a video'),
    h('label', {}, 'Video file', file), pending,
    h('label', {}, 'Title', title), h('label', {}, 'Description', description), h('label', {}, 'Tags', tags),
    start, h('div', { class: 'progress' }, bar, barText), processing, error);
  main.replaceChildren(form);

  // Unfinished uploads of this browser: choosing the same file resumes it.
  const previous = await tus.defaultOptions.urlStorage.findAllUploads().catch(() => []);
  if (previous.length) {
    pending.replaceChildren(h('p', { class: 'notice', 'data-testid': 'pending' }, `${previous.length} unfinished upload${previous.length > 1 ? 's' : ''} (${previous.map((p) => p.metadata && p.metadata.filename).filter(Boolean).join(', ')}): choose the same file again to resume.`));
  }
  file.addEventListener('change', () => {
    const f = file.files[0];
    if (f && !title.value) { title.value = f.name.replace(/\.[^.]+$/, ''); }
  });

  let upload = null;
  let stopped = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) { return; }
    error.textContent = '';
    start.disabled = true;
    upload = new tus.Upload(f, {
      endpoint: '/files/',
      chunkSize: CHUNK_BYTES,
      retryDelays: [0, 1000, 2000, 5000, 10000, 20000],
      removeFingerprintOnSuccess: true,
      headers: { authorization: 'Bearer ' + auth.token },
      metadata: { filename: f.name, filetype: f.type || 'application/octet-stream', title: title.value, description: description.value, tags: tags.value },
      onProgress(sent, total) {
        const percent = total ? (sent / total) * 100 : 0;
        bar.value = percent;
        barText.textContent = `${percent.toFixed(1)} % · ${(sent / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MiB`;
        form.dataset.uploadUrl = upload.url || '';
      },
      onError(err) {
        if (!navigator.onLine) {
          // tus-js-client stops retrying while the browser is offline; carry on from the stored
          // upload URL (HEAD for the offset, then PATCH) as soon as the connection is back.
          barText.textContent = 'offline: the upload resumes when the connection is back';
          form.dataset.offline = 'seen';
          window.addEventListener('online', () => { if (!stopped) { upload.start(); } }, { once: true });
          return;
        }
        start.disabled = false;
        const response = err.originalResponse;
        const reason = response && (response.getHeader('Upload-Reason') || safeError(response.getBody()));
        error.textContent = 'Upload failed: ' + (reason || err.message);
      },
      async onSuccess() {
        barText.textContent = 'upload complete; processing…';
        form.dataset.uploadUrl = upload.url;
        const id = upload.url.split('/').pop();
        follow(id);
      },
    });
    const earlier = await upload.findPreviousUploads();
    if (earlier.length) {
      upload.resumeFromPreviousUpload(earlier[0]);
      form.dataset.resumed = earlier[0].uploadUrl;
      barText.textContent = 'resuming…';
    }
    upload.start();
  });

  // The upload's fate in the pipeline, polled once a second until it is playable or refused.
  async function follow(uploadId) {
    let titleId = null;
    while (!stopped) {
      try {
        if (!titleId) {
          const u = await api('/api/uploads/' + uploadId);
          if (u.state === 'rejected') { showRejected(u.reason); return; }
          titleId = u.titleId;
        }
        if (titleId) {
          const t = await api('/api/titles/' + titleId);
          form.dataset.titleId = titleId;
          if (t.state === 'published') {
            barText.textContent = 'uploaded and processed';
            processing.replaceChildren(h('p', { class: 'done', 'data-testid': 'playable' }, 'Playable: ', h('a', { href: '/watch/' + titleId, 'data-link': '' }, t.metadata.title || titleId)));
            return;
          }
          if (t.state === 'failed' || t.state === 'rejected') { showRejected(t.reason); return; }
          processing.replaceChildren(h('p', {}, `Processing: ${t.step || t.state} `, h('progress', { max: '100', value: String(t.percent || 0) }), ` ${Math.round(t.percent || 0)} %`));
        }
      } catch (x) {
        processing.replaceChildren(h('p', { class: 'muted' }, 'waiting for the origin: ' + x.message));
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  function showRejected(reason) {
    start.disabled = false;
    error.textContent = 'The file was rejected: ' + (reason || 'no reason given');
    processing.replaceChildren();
  }

  return () => { stopped = true; if (upload) { upload.abort(); } };
}

function safeError(body) {
  try { return JSON.parse(body).error; } catch { return body; }
}
