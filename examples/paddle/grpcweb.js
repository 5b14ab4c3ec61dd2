// A tiny gRPC-Web (binary) client over fetch, enough for the few calls the
// example makes before play: messages are built and read field by field.
// Real games would use a generated client; this keeps the example to plain
// files with no build step.
const grpcWeb = (() => {
  const utf8 = new TextEncoder(), fromUtf8 = new TextDecoder();

  function varint(n) {
    const out = [];
    while (n > 127) { out.push((n & 127) | 128); n = Math.floor(n / 128); }
    out.push(n);
    return out;
  }

  // msg builds a message from [fieldNumber, value] pairs: a string or a
  // Uint8Array (a nested message) is length-delimited, a number a varint.
  function msg(...fields) {
    const out = [];
    for (const [num, value] of fields) {
      if (typeof value === 'number') {
        out.push(...varint(num << 3), ...varint(value));
        continue;
      }
      const b = typeof value === 'string' ? utf8.encode(value) : value;
      out.push(...varint((num << 3) | 2), ...varint(b.length), ...b);
    }
    return new Uint8Array(out);
  }

  // read parses a message into {fieldNumber: [values]}: numbers for varints,
  // Uint8Arrays for length-delimited fields (use text() or read() on them).
  function read(b) {
    const out = {};
    let i = 0;
    const next = () => {
      let n = 0, mul = 1, c;
      do { c = b[i++]; n += (c & 127) * mul; mul *= 128; } while (c & 128);
      return n;
    };
    while (i < b.length) {
      const tag = next(), num = Math.floor(tag / 8), wire = tag & 7;
      let v;
      if (wire === 0) v = next();
      else if (wire === 2) { const n = next(); v = b.subarray(i, i + n); i += n; }
      else if (wire === 1) { v = b.subarray(i, i + 8); i += 8; }
      else if (wire === 5) { v = b.subarray(i, i + 4); i += 4; }
      else throw new Error('unsupported wire type ' + wire);
      (out[num] = out[num] || []).push(v);
    }
    return out;
  }

  const text = (b) => (b ? fromUtf8.decode(b) : '');

  // call sends one unary call; it resolves to the reply's bytes and
  // rejects with the gRPC status.
  async function call(api, method, body, token) {
    const framed = new Uint8Array(5 + body.length);
    new DataView(framed.buffer).setUint32(1, body.length);
    framed.set(body, 5);
    const headers = {
      'Content-Type': 'application/grpc-web+proto',
      'Accept': 'application/grpc-web+proto',
      'X-Grpc-Web': '1',
    };
    if (token) headers['Authorization'] = 'Bearer ' + token;
    const resp = await fetch(api + '/' + method, { method: 'POST', headers, body: framed });
    let data = new Uint8Array(await resp.arrayBuffer());
    let code = resp.headers.get('grpc-status'), message = resp.headers.get('grpc-message') || '';
    let reply = new Uint8Array();
    while (data.length >= 5) {
      const n = new DataView(data.buffer, data.byteOffset).getUint32(1);
      const payload = data.subarray(5, 5 + n);
      if (data[0] & 0x80) { // trailers
        for (const line of fromUtf8.decode(payload).split('\r\n')) {
          const [k, ...v] = line.split(':');
          if (k.trim().toLowerCase() === 'grpc-status') code = v.join(':').trim();
          if (k.trim().toLowerCase() === 'grpc-message') message = decodeURIComponent(v.join(':').trim());
        }
      } else {
        reply = payload;
      }
      data = data.subarray(5 + n);
    }
    if (code !== '0') {
      const err = new Error(method + ': ' + message + ' (grpc-status ' + code + ')');
      err.code = Number(code);
      throw err;
    }
    return reply;
  }

  return { msg, read, text, call };
})();
