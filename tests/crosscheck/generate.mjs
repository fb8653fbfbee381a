// Generates random timestamp sets with Actual Budget's @actual-app/crdt and
// writes what that implementation computes for them: each timestamp's hash,
// the merkle trie as JSON, and merkle.diff between neighbouring sets.
// Usage: node generate.mjs <out.json> [sets] [seed]
import { writeFileSync } from 'node:fs';
import { merkle, Timestamp } from '@actual-app/crdt';

const [out, setsArg, seedArg] = process.argv.slice(2);
const count = Number(setsArg || 1200);
let seed = Number(seedArg || 20261125) >>> 0;

// mulberry32: small, seeded, reproducible.
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(random() * n);
const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[int(16)]).join('');

const now = Date.UTC(2026, 10, 25);
const spans = [60e3, 3600e3, 86400e3, 30 * 86400e3, 3 * 365 * 86400e3];
const nodes = Array.from({ length: 6 }, () => hex(16));

function randomStamp() {
  const span = spans[int(spans.length)];
  const millis = now - span + int(2 * span);
  const counter = random() < 0.7 ? int(4) : int(0x10000);
  return new Timestamp(millis, counter, nodes[int(nodes.length)]).toString();
}

const sets = [];
let previous = [];
for (let i = 0; i < count; i++) {
  let stamps;
  if (i > 0 && random() < 0.6) {
    // A near neighbour of the previous set: drop and add a few, so that
    // diffs must descend deep into the tries.
    stamps = previous.filter(() => random() > 0.1);
    for (let k = int(4); k > 0; k--) stamps.push(randomStamp());
  } else {
    stamps = Array.from({ length: int(51) }, randomStamp);
  }
  stamps = [...new Set(stamps)];
  let trie = merkle.emptyTrie();
  for (const s of stamps) trie = merkle.insert(trie, Timestamp.parse(s));
  sets.push({
    stamps,
    hashes: stamps.map((s) => Timestamp.parse(s).hash()),
    trie: JSON.stringify(trie),
    tries: trie,
  });
  previous = stamps;
}
const diffs = [];
for (let i = 0; i + 1 < sets.length; i++) {
  diffs.push({ a: i, b: i + 1, d: merkle.diff(sets[i].tries, sets[i + 1].tries) });
  diffs.push({ a: i + 1, b: i, d: merkle.diff(sets[i + 1].tries, sets[i].tries) });
}
for (const s of sets) delete s.tries;
writeFileSync(out, JSON.stringify({ sets, diffs }));
console.log(`generate: ${sets.length} sets, ${diffs.length} diffs -> ${out}`);
