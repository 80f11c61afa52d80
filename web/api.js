// The exchange's HTTPS API (docs/openapi.yaml), the only thing the console talks to.
let csrf = null;

export class ApiError extends Error {
  constructor(status, error, doc) {
    super(error && error.message ? error.message : `HTTP ${status}`);
    this.status = status;
    this.code = error ? error.code : "http";
    this.field = error ? error.field : undefined;
    this.doc = doc;
  }
}

export function setCsrf(token) {
  csrf = token || null;
}

// method, path[, body]: the parsed JSON answer, or an ApiError.  A Blob or
// typed array goes as raw bytes; anything else as JSON.
export async function api(method, path, body, { text = false } = {}) {
  const headers = {};
  let payload;
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  if (body instanceof Blob || body instanceof Uint8Array || body instanceof ArrayBuffer) {
    payload = body;
    headers["Content-Type"] = "application/octet-stream";
  } else if (typeof body === "string") {
    payload = body;
    headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const r = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  const raw = await r.text();
  let doc = null;
  if (!text || !r.ok) {
    try {
      doc = raw ? JSON.parse(raw) : null;
    } catch {
      doc = null;
    }
  }
  if (!r.ok) throw new ApiError(r.status, doc && doc.error ? doc.error : { code: "http", message: raw.slice(0, 200) || `HTTP ${r.status}` }, doc);
  return text ? raw : doc;
}

export function randomKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
