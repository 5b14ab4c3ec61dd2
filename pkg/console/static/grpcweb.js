// A small gRPC-Web client over fetch: protobuf encoding from a schema
// (the few messages the console uses, see schema.js), binary gRPC-Web
// framing, unary calls and server streams read as they arrive.
'use strict';

const pb = (() => {
  const utf8 = new TextEncoder(), fromUtf8 = new TextDecoder();

  // A schema maps field numbers to [name, type]; a name ending in [] is a
  // repeated field, one ending in {} a map<string, string>. type is
  // string, bytes, bool, int32, int64, double, or a schema (a message).
  const MAP_ENTRY = { 1: ['key', 'string'], 2: ['value', 'string'] };

  function fieldName(name) { return name.replace(/(\[\]|\{\})$/, ''); }

  class Writer {
    constructor() { this.out = []; }
    varint(v) {
      let n = BigInt.asUintN(64, BigInt(v));
      while (n > 127n) { this.out.push(Number(n & 127n) | 128); n >>= 7n; }
      this.out.push(Number(n));
    }
    tag(num, wire) { this.varint((num << 3) | wire); }
    bytes(b) { this.varint(b.length); for (const x of b) this.out.push(x); }
    double(v) {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v, true);
      for (const x of b) this.out.push(x);
    }
  }

  function writeField(w, num, type, v) {
    if (typeof type === 'object') { w.tag(num, 2); w.bytes(encode(type, v)); return; }
    switch (type) {
      case 'string': if (v !== '') { w.tag(num, 2); w.bytes(utf8.encode(v)); } return;
      case 'bytes': if (v.length) { w.tag(num, 2); w.bytes(v); } return;
      case 'bool': if (v) { w.tag(num, 0); w.varint(1); } return;
      case 'int32': case 'int64': if (Number(v) !== 0) { w.tag(num, 0); w.varint(v); } return;
      case 'double': if (v !== 0) { w.tag(num, 1); w.double(v); } return;
      default: throw new Error('unknown field type ' + type);
    }
  }

  // encode: a plain object -> protobuf bytes. Missing fields are left out.
  function encode(schema, obj) {
    const w = new Writer();
    for (const [num, [name, type]] of Object.entries(schema)) {
      const v = obj[fieldName(name)];
      if (v === undefined || v === null) continue;
      if (name.endsWith('[]')) for (const x of v) writeField(w, Number(num), type, x);
      else if (name.endsWith('{}')) for (const [k, x] of Object.entries(v)) writeField(w, Number(num), MAP_ENTRY, { key: k, value: x });
      else writeField(w, Number(num), type, v);
    }
    return new Uint8Array(w.out);
  }

  function defaults(schema) {
    const out = {};
    for (const [name, type] of Object.values(schema)) {
      const key = fieldName(name);
      if (name.endsWith('[]')) out[key] = [];
      else if (name.endsWith('{}')) out[key] = {};
      else if (typeof type === 'object') out[key] = null;
      else out[key] = { string: '', bytes: new Uint8Array(0), bool: false }[type] ?? 0;
    }
    return out;
  }

  // decode: protobuf bytes -> a plain object with every field of schema
  // (proto3 defaults for absent ones, null for absent messages). Unknown
  // fields are skipped; 64-bit integers become Numbers.
  function decode(schema, b) {
    const out = defaults(schema);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let i = 0;
    const varint = () => {
      let n = 0n, shift = 0n, c;
      do { c = b[i++]; n |= BigInt(c & 127) << shift; shift += 7n; } while (c & 128);
      return n;
    };
    while (i < b.length) {
      const tag = Number(varint()), num = tag >>> 3, wire = tag & 7;
      let raw;
      if (wire === 0) raw = varint();
      else if (wire === 1) { raw = view.getFloat64(i, true); i += 8; }
      else if (wire === 2) { const n = Number(varint()); raw = b.subarray(i, i + n); i += n; }
      else if (wire === 5) { i += 4; continue; }
      else throw new Error('unsupported wire type ' + wire);
      const spec = schema[num];
      if (!spec) continue;
      const [name, type] = spec, key = fieldName(name);
      let v;
      if (name.endsWith('{}')) { const e = decode(MAP_ENTRY, raw); out[key][e.key] = e.value; continue; }
      if (typeof type === 'object') v = decode(type, raw);
      else if (type === 'string') v = fromUtf8.decode(raw);
      else if (type === 'bytes') v = raw.slice();
      else if (type === 'bool') v = raw !== 0n;
      else if (type === 'double') v = raw;
      else v = Number(BigInt.asIntN(64, raw));
      if (name.endsWith('[]')) out[key].push(v); else out[key] = v;
    }
    return out;
  }

  return { encode, decode };
})();

// GrpcError carries a call's gRPC status.
class GrpcError extends Error {
  constructor(method, code, message) {
    super(message ? `${message} (${GrpcError.names[code] || 'code ' + code})` : (GrpcError.names[code] || 'code ' + code));
    this.method = method;
    this.code = code;
  }
}
GrpcError.names = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
  'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED',
  'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

const grpcWeb = (() => {
  const fromUtf8 = new TextDecoder();

  function frame(msg) {
    const f = new Uint8Array(5 + msg.length);
    new DataView(f.buffer).setUint32(1, msg.length);
    f.set(msg, 5);
    return f;
  }

  // grpc-message is percent-encoded; a malformed one is shown as it came.
  function unescapeMessage(v) {
    try { return decodeURIComponent(v); } catch { return v; }
  }

  function parseTrailers(text, into) {
    for (const line of text.split('\r\n')) {
      const at = line.indexOf(':');
      if (at < 0) continue;
      const k = line.slice(0, at).trim().toLowerCase(), v = line.slice(at + 1).trim();
      if (k === 'grpc-status') into.code = Number(v);
      if (k === 'grpc-message') into.message = unescapeMessage(v);
    }
  }

  // call sends one request and hands each response message to onMessage as
  // it arrives (a server stream is read incrementally, so a paced replay
  // shows its events at their pace). It resolves when the call ends OK and
  // rejects with a GrpcError otherwise. signal (AbortSignal) cancels.
  async function call(method, reqSchema, respSchema, req, { token, signal, onMessage } = {}) {
    const headers = {
      'Content-Type': 'application/grpc-web+proto',
      'Accept': 'application/grpc-web+proto',
      'X-Grpc-Web': '1',
      'X-User-Agent': 'oof-console/1',
    };
    if (token) headers['Authorization'] = 'Bearer ' + token;
    const resp = await fetch(method, { method: 'POST', headers, body: frame(pb.encode(reqSchema, req)), signal });
    const st = { code: null, message: '' };
    // A trailers-only answer carries the status in the headers.
    if (resp.headers.get('grpc-status') !== null) {
      st.code = Number(resp.headers.get('grpc-status'));
      st.message = unescapeMessage(resp.headers.get('grpc-message') || '');
    }
    let buf = new Uint8Array(0);
    const reader = resp.body ? resp.body.getReader() : null;
    for (;;) {
      const { done, value } = reader ? await reader.read() : { done: true };
      if (value) {
        const joined = new Uint8Array(buf.length + value.length);
        joined.set(buf); joined.set(value, buf.length);
        buf = joined;
      }
      while (buf.length >= 5) {
        const n = new DataView(buf.buffer, buf.byteOffset).getUint32(1);
        if (buf.length < 5 + n) break;
        const flags = buf[0], payload = buf.subarray(5, 5 + n);
        if (flags & 0x80) parseTrailers(fromUtf8.decode(payload), st);
        else if (onMessage) onMessage(pb.decode(respSchema, payload));
        buf = buf.subarray(5 + n);
      }
      if (done) break;
    }
    if (st.code === null) {
      throw new GrpcError(method, 2, `no gRPC status in the answer (HTTP ${resp.status})`);
    }
    if (st.code !== 0) throw new GrpcError(method, st.code, st.message);
  }

  // unary resolves with the one response message.
  async function unary(method, reqSchema, respSchema, req, opts = {}) {
    let reply = null;
    await call(method, reqSchema, respSchema, req, { ...opts, onMessage: (m) => { reply = m; } });
    if (reply === null) throw new GrpcError(method, 13, 'no response message');
    return reply;
  }

  return { call, unary };
})();
