// Generates the JCS cross-check vectors from ECMAScript itself (node):
// RFC 8785 defines number text as Number.prototype.toString and member order
// as UTF-16 code-unit order, which is what String(x) and the default sort do.
// Deterministic: a fixed-seed xorshift.  Run: node gen.js (writes numbers.txt, objects.txt).
'use strict';
const fs = require('fs');
let s = 0x2545F4914F6CDD1Dn;
const M = (1n << 64n) - 1n;
function next() { s ^= (s << 13n) & M; s ^= s >> 7n; s ^= (s << 17n) & M; return s; }
const buf = new DataView(new ArrayBuffer(8));
const nums = [];
function add(x) {
  buf.setFloat64(0, x);
  nums.push(buf.getBigUint64(0).toString(16).padStart(16, '0') + ' ' + String(x));
}
// Edges, then random bit patterns, random integers and short decimals.
[0, -0, 1, -1, 5e-324, -5e-324, 1.7976931348623157e308, 9007199254740992, 9007199254740993,
 1e21, 1e20, 999999999999999900000, 1e-6, 1e-7, 0.000001, 123e-20, 1.5, 0.1, 0.2 + 0.1,
 333333333.3333333, 295147905179352830000, 4.35, 2 ** 63, -(2 ** 63), 1e23, 9.999999999999997e22
].forEach(add);
for (let i = 0; i < 8000; i++) {
  buf.setBigUint64(0, next());
  const x = buf.getFloat64(0);
  if (Number.isFinite(x)) add(x);
}
for (let i = 0; i < 3000; i++) add(Number(next() % 2000000000000n) - 1e12);
for (let i = 0; i < 3000; i++) add(Number(next() % 100000n) / 100);
fs.writeFileSync('numbers.txt', '# IEEE-754 bits (hex) and ECMAScript String(x); from gen.js\n' + nums.join('\n') + '\n');

const keys = ['a', 'b', 'B', '\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33',
  '\ue000', '\uffff', '\ud800\udc00', 'aa', '', 'key with space', '\u0001', '"q"', '\\'];
function pick(a) { return a[Number(next() % BigInt(a.length))]; }
function value(d) {
  const r = Number(next() % 7n);
  if (d > 3 || r === 0) { buf.setBigUint64(0, next()); const x = buf.getFloat64(0); return Number.isFinite(x) ? x : 1; }
  if (r === 1) return pick(keys) + pick(keys);
  if (r === 2) return [value(d + 1), value(d + 1)];
  if (r === 3) return r % 2 === 0;
  if (r === 4) return null;
  const o = {}; const n = Number(next() % 5n);
  for (let i = 0; i < n; i++) o[pick(keys)] = value(d + 1);
  return o;
}
function jcs(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
  return '{' + Object.keys(v).sort().map(k => JSON.stringify(k) + ':' + jcs(v[k])).join(',') + '}';
}
function messy(v) { // the same value with shuffled members and whitespace
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return '[ ' + v.map(messy).join(' , ') + ' ]';
  const ks = Object.keys(v).reverse();
  return '{ ' + ks.map(k => JSON.stringify(k) + ' : ' + messy(v[k])).join(', ') + ' }';
}
const objs = [];
// RFC 8785 section 3.2.3's sorting example.
const rfc = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh',
  '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
objs.push(messy(rfc) + '\n' + jcs(rfc));
for (let i = 0; i < 500; i++) { const o = { x: value(0), y: value(0) }; o[pick(keys)] = value(1); objs.push(messy(o) + '\n' + jcs(o)); }
fs.writeFileSync('objects.txt', objs.join('\n') + '\n');
