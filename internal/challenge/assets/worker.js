// Parapet proof-of-work worker: finds a decimal counter n such that
// SHA-256(challenge + n) starts with `difficulty` zero bits (at most 32).
// The challenge (32 hex characters) plus the counter always fit one
// 64-byte SHA-256 block, so this computes that single block directly.
"use strict";
var K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
];
var W = new Int32Array(64);
var msg = new Uint8Array(64);

// firstWord returns the first 32 bits of SHA-256 over msg[0:len].
function firstWord(len) {
  var i;
  msg[len] = 0x80;
  for (i = len + 1; i < 60; i++) { msg[i] = 0; }
  var bitLen = len * 8;
  msg[60] = bitLen >>> 24; msg[61] = (bitLen >>> 16) & 255; msg[62] = (bitLen >>> 8) & 255; msg[63] = bitLen & 255;
  for (i = 0; i < 16; i++) {
    W[i] = (msg[4 * i] << 24) | (msg[4 * i + 1] << 16) | (msg[4 * i + 2] << 8) | msg[4 * i + 3];
  }
  for (i = 16; i < 64; i++) {
    var w15 = W[i - 15], w2 = W[i - 2];
    var s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    var s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  var a = 0x6a09e667 | 0, b = 0xbb67ae85 | 0, c = 0x3c6ef372 | 0, d = 0xa54ff53a | 0;
  var e = 0x510e527f | 0, f = 0x9b05688c | 0, g = 0x1f83d9ab | 0, h = 0x5be0cd19 | 0;
  for (i = 0; i < 64; i++) {
    var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    var ch = (e & f) ^ (~e & g);
    var t1 = (h + S1 + ch + K[i] + W[i]) | 0;
    var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    var maj = (a & b) ^ (a & c) ^ (b & c);
    var t2 = (S0 + maj) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  return (a + 0x6a09e667) | 0;
}

function solve(challenge, difficulty) {
  var i, n, s, len;
  for (i = 0; i < challenge.length; i++) { msg[i] = challenge.charCodeAt(i) & 255; }
  for (n = 0; ; n++) {
    s = String(n);
    len = challenge.length;
    for (i = 0; i < s.length; i++) { msg[len++] = s.charCodeAt(i); }
    if (Math.clz32(firstWord(len)) >= difficulty) { return s; }
    if (n % 200000 === 0 && n > 0 && typeof postMessage === "function") { postMessage({ progress: n }); }
  }
}

if (typeof module !== "undefined") {
  module.exports = { solve: solve };
} else {
  onmessage = function (ev) {
    postMessage({ answer: solve(ev.data.challenge, ev.data.difficulty) });
  };
}
