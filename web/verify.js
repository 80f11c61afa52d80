// The audit export checked in the browser, as docs/audit-format.md says a
// verifier does: each event's leaf hash recomputed from its bytes, the RFC 6962
// tree rebuilt, its root compared with the signed checkpoint's, and the
// checkpoint's Ed25519 signature checked with the platform key (WebCrypto).
// `sluice audit verify FILE --key platform.pub` stays the check to rely on:
// here the key comes from the export's own header.

const enc = new TextEncoder();

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}
function unhex(s) {
  const b = new Uint8Array(s.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(s.substr(2 * i, 2), 16);
  return b;
}
async function sha256(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const b = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { b.set(p, o); o += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", b));
}

// RFC 8785: keys sorted by UTF-16 code units; JSON.stringify's strings and numbers.
export function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

async function root(leaves, lo, hi) {
  const n = hi - lo;
  if (n === 0) return sha256(new Uint8Array(0));
  if (n === 1) return leaves[lo];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return sha256(Uint8Array.of(1), await root(leaves, lo, lo + k), await root(leaves, lo + k, hi));
}

function pemToDer(pem) {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

// text: a whole export (JSONL).  {ok, events, message, steps: [[ok, text]]}.
export async function verifyExport(text) {
  const lines = text.split("\n").filter((l) => l !== "");
  const steps = [];
  const fail = (m) => ({ ok: false, events: [], message: m, steps: [...steps, [false, m]] });
  if (lines.length < 2) return fail("the export is empty");
  const head = JSON.parse(lines[0]);
  if (head.type !== "sluice.audit.export" || head.format !== 1) return fail("not a Sluice audit export");
  if (head.suite !== "intl") return fail(`suite ${head.suite}: SM3 and SM2 are not in the browser; verify with sluice audit verify`);
  if (head.from !== 1) return fail("a partial export: verify it with sluice audit verify --since");
  const leaves = [], events = [];
  let i = 1;
  for (; i < lines.length && lines[i].startsWith('{"event":'); i++) {
    const line = lines[i];
    const m = /,"leaf":"([0-9a-f]{64})"\}$/.exec(line);
    if (!m) return fail(`line ${i + 1}: not an event line`);
    const bytes = line.slice('{"event":'.length, m.index);
    const ev = JSON.parse(bytes);
    if (ev.seq !== events.length + 1) return fail(`line ${i + 1}: event ${ev.seq} where ${events.length + 1} was due`);
    const leaf = await sha256(Uint8Array.of(0), enc.encode(bytes));
    if (hex(leaf) !== m[1]) return fail(`event ${ev.seq} does not match its leaf hash: it was edited`);
    leaves.push(leaf);
    events.push(ev);
  }
  steps.push([true, `${events.length} events, each matching its leaf hash`]);
  if (i >= lines.length) return fail("no checkpoint: the export was cut short");
  const cp = JSON.parse(lines[i]);
  if (cp.type !== "checkpoint" || !cp.checkpoint) return fail(`line ${i + 1}: a checkpoint was due`);
  if (i + 1 !== lines.length) return fail("lines after the checkpoint: unsigned additions");
  if (cp.checkpoint.tree_size !== leaves.length) return fail(`the checkpoint signs ${cp.checkpoint.tree_size} events and the file has ${leaves.length}`);
  const r = hex(await root(leaves, 0, leaves.length));
  if (r !== cp.checkpoint.root) return fail("the events' tree root is not the one the checkpoint signs");
  steps.push([true, `the tree of ${leaves.length} events has the signed root ${r.slice(0, 16)}…`]);
  let sigOk = null;
  try {
    const key = await crypto.subtle.importKey("spki", pemToDer(head.platform_key), { name: "Ed25519" }, false, ["verify"]);
    sigOk = await crypto.subtle.verify({ name: "Ed25519" }, key, unhex(cp.signature), enc.encode(canonical(cp.checkpoint)));
  } catch {
    sigOk = null;
  }
  if (sigOk === false) return fail("the checkpoint's signature does not verify");
  steps.push(sigOk ? [true, "the checkpoint's Ed25519 signature verifies with the platform key in the header"]
    : [null, "this browser cannot check Ed25519: verify the signature with sluice audit verify"]);
  return { ok: true, events, checkpoint: cp, message: "verified", steps };
}
