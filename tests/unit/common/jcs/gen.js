// tests/unit/common/jcs/gen.js -- make and check the JCS test vectors with ECMAScript itself.
//
// RFC 8785 defines number text as ECMAScript's Number.prototype.toString and
// member order as UTF-16 code-unit order, so node is the reference:
//
//   node gen.js           write numbers.txt, integers.txt and objects.txt, then check
//   node gen.js --check   check only: the generated files are what this script makes,
//                         and every transcribed file (appendix-b.txt, cases.txt and the
//                         files it names, rfc8785-3.2.4-output.hex) agrees with node
//
// Deterministic (a fixed-seed splitmix64); run it from this directory.  Exits 1
// on any disagreement.
'use strict';
const fs = require('fs');

const check = process.argv.includes('--check');
let failures = 0;
function bad(msg) {
  console.error('gen.js: ' + msg);
  failures++;
}

// ---- deterministic randomness -------------------------------------------------
const M64 = (1n << 64n) - 1n;
let seed = 0x5eed0f5100ce5n; // "seed of sluice"
function next64() {
  seed = (seed + 0x9e3779b97f4a7c15n) & M64;
  let z = seed;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}
function below(n) { return Number(next64() % BigInt(n)); }
function pick(a) { return a[below(a.length)]; }

const dv = new DataView(new ArrayBuffer(8));
function bitsOf(x) { dv.setFloat64(0, x); return dv.getBigUint64(0).toString(16).padStart(16, '0'); }
function fromBits(b) { dv.setBigUint64(0, BigInt.asUintN(64, b)); return dv.getFloat64(0); }

// ---- numbers.txt: IEEE-754 bits and String(x) --------------------------------
function makeNumbers() {
  const lines = [];
  const add = (x, why) => lines.push(bitsOf(x) + ' ' + String(x) + (why ? '  # ' + why : ''));
  // Every power of two: below a power of two the doubles are twice as dense, so
  // the shortest digits may lie above x rather than at the nearest rounding.
  for (let e = -1074; e <= 1023; e++) add(2 ** e, e === -1074 ? 'powers of two 2^-1074..2^1023' : '');
  // Powers of ten and their neighbours: where digit counts and notation change.
  for (let e = -323; e <= 308; e++) {
    const x = Number('1e' + e), b = BigInt('0x' + bitsOf(x));
    add(fromBits(b - 1n), e === -323 ? 'powers of ten 1e-323..1e308 and the doubles either side' : '');
    add(x);
    add(fromBits(b + 1n));
  }
  // The boundaries of fixed notation, exactly and either side.
  for (const x of [1e21, 1e-7, 1e-6, 2 ** 53, 2 ** 53 + 2, 2 ** 53 - 1, 0.1, 0.2 + 0.1, -0.5])
    for (const d of [-1n, 0n, 1n]) add(fromBits(BigInt('0x' + bitsOf(x)) + d));
  // Just above 2^44..2^56 the last digit can tie between two shortest candidates,
  // which ECMAScript breaks towards even (RFC 8785 Appendix B note (4)).
  for (let m = 44; m <= 56; m++)
    for (let j = 1; j <= 3; j++) add(2 ** m + j * 2 ** (m - 52), m === 44 && j === 1 ? 'digit ties' : '');
  // Random bit patterns (finite only), both signs.
  for (let i = 0, n = 0; n < 12000; i++) {
    const x = fromBits(next64());
    if (Number.isFinite(x)) add(x, n++ === 0 ? 'random bit patterns' : '');
  }
  // Random integers of every magnitude up to 2^70, as doubles.
  for (let i = 0; i < 2000; i++) {
    const x = Number(BigInt.asIntN(72, next64() << 8n) >> BigInt(below(71)));
    add(x, i === 0 ? 'random integers' : '');
  }
  // Short decimals: up to 8 digits, scaled by 10^-12..10^12.
  for (let i = 0; i < 2000; i++) {
    const digits = BigInt(below(100000000)) * (below(2) ? 1n : -1n);
    add(Number(digits + 'e' + (below(25) - 12)), i === 0 ? 'short decimals' : '');
  }
  return '# IEEE-754 bits (hex) and ECMAScript String(x), made by gen.js with node ' +
      process.version + '\n' + lines.join('\n') + '\n';
}

// ---- integers.txt: json_int_t values and String(Number(i)) ---------------------
function makeIntegers() {
  const lines = [];
  const add = (i, why) => lines.push(i.toString() + ' ' + String(Number(i)) + (why ? '  # ' + why : ''));
  const two53 = 1n << 53n, min = -(1n << 63n), max = (1n << 63n) - 1n;
  for (const i of [0n, 1n, -1n, two53 - 1n, two53, two53 + 1n, two53 + 2n, two53 + 3n, -two53 + 1n,
           -two53, -two53 - 1n, -two53 - 2n, -two53 - 3n, max, max - 1n, min, min + 1n,
           (1n << 62n) + 1n, 10n ** 18n, 10n ** 18n + 1n, -(10n ** 18n) - 1n])
    add(i, i === 0n ? 'edges: 0, +-2^53 and neighbours, int64 limits' : '');
  for (let i = 0; i < 1500; i++) {
    const v = BigInt.asIntN(64, next64()) >> BigInt(below(64));
    add(v, i === 0 ? 'random int64 values of every magnitude' : '');
  }
  return '# json_int_t values and ECMAScript String(Number(i)), made by gen.js with node ' +
      process.version + '\n' + lines.join('\n') + '\n';
}

// ---- objects.txt: messy JSON text and its canonical form -----------------------

// RFC 8785 Appendix A's canonicalizer.
function canonicalize(object) {
  let buffer = '';
  serialize(object);
  return buffer;
  function serialize(o) {
    if (o === null || typeof o !== 'object' || o.toJSON != null) {
      buffer += JSON.stringify(o);
    } else if (Array.isArray(o)) {
      buffer += '[';
      let next = false;
      o.forEach((element) => {
        if (next) buffer += ',';
        next = true;
        serialize(element);
      });
      buffer += ']';
    } else {
      buffer += '{';
      let next = false;
      Object.keys(o).sort().forEach((property) => {
        if (next) buffer += ',';
        next = true;
        buffer += JSON.stringify(property);
        buffer += ':';
        serialize(o[property]);
      });
      buffer += '}';
    }
  }
}

// Member names chosen to disagree between UTF-16, code point and byte order.
const names = ['a', 'b', 'B', 'aa', '', '1', '10', '\r', '\n', '\u0001', '\u001f', '"q"', '\\', '/',
  '\u007f', '\u0080', '\u00f6', '\u00e9', '\u20ac', '\ud7ff', '\ue000', '\uefff', '\uf000',
  '\ufb33', '\uffff', '\ud800\udc00', '\ud83d\ude00', '\udbff\udfff', 'key with space',
  'a\u00f6', 'a\ue000', 'a\ud83d\ude00', '\u2028'];
const texts = names.concat(['\u0000', 'x\u0000y', '\t\b\f', 'A\u030a']);

function randomDouble() {
  for (;;) {
    const x = fromBits(next64());
    if (Number.isFinite(x)) return x;
  }
}
function value(depth) {
  const r = below(9);
  if (depth > 4 || r === 0) return randomDouble();
  if (r === 1) return Number(BigInt.asIntN(64, next64()) >> BigInt(below(64)));
  if (r === 2) return below(2000) / 8 - 100;
  if (r === 3) return pick(texts) + pick(texts);
  if (r === 4) return [null, true, false][below(3)];
  if (r === 5 || r === 6) {
    const a = [];
    for (let i = below(4); i > 0; i--) a.push(value(depth + 1));
    return a;
  }
  const o = {};
  for (let i = below(6); i > 0; i--) o[pick(names)] = value(depth + 1);
  return o;
}
// The same text a sloppier writer might send: members reversed, spaces, escapes
// where none are needed, numbers in other spellings.
function messyString(s) {
  let t = '"';
  for (const ch of s) {
    const u = ch.codePointAt(0), r = below(4);
    if (ch === '"' || ch === '\\' || u < 0x20 || r === 0) {
      for (let k = 0; k < ch.length; k++) {
        const h = ch.charCodeAt(k).toString(16).padStart(4, '0');
        t += '\\u' + (below(2) ? h : h.toUpperCase());
      }
    } else if (ch === '/' && r === 1) {
      t += '\\/';
    } else {
      t += ch;
    }
  }
  return t + '"';
}
function messyNumber(x) {
  const r = below(4);
  if (Number.isInteger(x) && Math.abs(x) < 1e30 && r === 0) return BigInt(x).toString() + (below(2) ? '.000' : '');
  if (r === 1) return x.toPrecision(17).replace('e+', 'E');
  if (r === 2) return x.toExponential();
  return String(x);
}
function messy(v) {
  const sp = () => [' ', '', '\t', '  '][below(4)];
  if (v === null || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'number') return messyNumber(v);
  if (typeof v === 'string') return messyString(v);
  if (Array.isArray(v)) return '[' + sp() + v.map(messy).join(sp() + ',' + sp()) + sp() + ']';
  return '{' + sp() + Object.keys(v).reverse().map((k) => messyString(k) + sp() + ':' + sp() +
      messy(v[k])).join(',' + sp()) + sp() + '}';
}
function makeObjects() {
  const out = [];
  for (let i = 0; i < 400; i++) {
    const o = {};
    for (let n = 1 + below(6); n > 0; n--) o[pick(names)] = value(1);
    const text = messy(o);
    if (canonicalize(JSON.parse(text)) !== canonicalize(o)) bad('objects: messy form ' + i + ' reads back differently');
    out.push(text, canonicalize(o));
  }
  return out.join('\n') + '\n';
}

// ---- write or compare -----------------------------------------------------------
for (const [file, make] of [['numbers.txt', makeNumbers], ['integers.txt', makeIntegers],
         ['objects.txt', makeObjects]]) {
  const text = make();
  if (!check) fs.writeFileSync(file, text);
  else if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text)
    bad(file + ' is not what gen.js makes (node ' + process.version + ')');
}
// The generated lines agree with node (guards against edits by hand).
for (const line of fs.readFileSync('numbers.txt', 'utf8').split('\n')) {
  if (line === '' || line[0] === '#') continue;
  const [hex, want] = line.split(' ');
  if (String(fromBits(BigInt('0x' + hex))) !== want) bad('numbers.txt: ' + line);
}

// ---- transcribed vectors ----------------------------------------------------------
let rows = 0;
for (const line of fs.readFileSync('appendix-b.txt', 'utf8').split('\n')) {
  if (line === '' || line[0] === '#') continue;
  const [hex, want] = line.split(/ +/);
  const x = fromBits(BigInt('0x' + hex));
  const got = Number.isFinite(x) ? String(x) : 'error';
  if (got !== want) bad('appendix-b.txt: ' + hex + ': node says ' + got + ', file says ' + want);
  rows++;
}
if (rows !== 26) bad('appendix-b.txt: ' + rows + ' rows, the RFC has 26');

for (const line of fs.readFileSync('cases.txt', 'utf8').split('\n')) {
  if (line === '' || line[0] === '#') continue;
  const [input, output] = line.split(/ +/);
  const got = canonicalize(JSON.parse(fs.readFileSync(input, 'utf8')));
  if (Buffer.compare(Buffer.from(got, 'utf8'), fs.readFileSync(output)) !== 0)
    bad(input + ': node makes ' + JSON.stringify(got) + ', ' + output + ' differs');
}
const hex = fs.readFileSync('rfc8785-3.2.4-output.hex', 'utf8').replace(/\s+/g, '');
if (hex !== fs.readFileSync('rfc8785-3.2.2-output.json').toString('hex'))
  bad('rfc8785-3.2.4-output.hex and rfc8785-3.2.2-output.json differ');
const order = fs.readFileSync('rfc8785-3.2.3-sort-order.txt', 'utf8').split('\n')
    .filter((l) => l !== '' && l[0] !== '#');
const sorted = JSON.parse(fs.readFileSync('rfc8785-3.2.3-sort-input.json', 'utf8'));
const keys = Object.keys(sorted).sort();
if (keys.map((k) => sorted[k]).join('|') !== order.join('|'))
  bad('rfc8785-3.2.3-sort-order.txt is not the UTF-16 order of rfc8785-3.2.3-sort-input.json');

if (failures > 0) process.exit(1);
console.log('gen.js: ' + (check ? 'checked' : 'wrote and checked') + ' all vectors');
