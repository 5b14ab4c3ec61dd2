// Minimal gRPC-Web client over fetch, for flat messages of string (wire
// type 2) and integer (wire type 0) fields: enough for Register and Login.
const grpcWeb = (() => {
  const utf8 = new TextEncoder(), fromUtf8 = new TextDecoder();

  function varint(n) {
    const out = [];
    while (n > 127) { out.push((n & 127) | 128); n = Math.floor(n / 128); }
    out.push(n);
    return out;
  }

  // encode: {fieldNumber: string} -> protobuf bytes.
  function encode(fields) {
    const out = [];
    for (const [num, value] of Object.entries(fields)) {
      const b = utf8.encode(value);
      out.push(...varint((Number(num) << 3) | 2), ...varint(b.length), ...b);
    }
    return new Uint8Array(out);
  }

  // decode: protobuf bytes -> {fieldNumber: string | number}.
  function decode(b) {
    const out = {};
    let i = 0;
    const readVarint = () => {
      let n = 0, mul = 1, c;
      do { c = b[i++]; n += (c & 127) * mul; mul *= 128; } while (c & 128);
      return n;
    };
    while (i < b.length) {
      const tag = readVarint(), num = Math.floor(tag / 8), wire = tag & 7;
      if (wire === 0) out[num] = readVarint();
      else if (wire === 2) { const n = readVarint(); out[num] = fromUtf8.decode(b.subarray(i, i + n)); i += n; }
      else throw new Error('unsupported wire type ' + wire);
    }
    return out;
  }

  function frame(msg) {
    const f = new Uint8Array(5 + msg.length);
    new DataView(f.buffer).setUint32(1, msg.length);
    f.set(msg, 5);
    return f;
  }

  // Text mode is base64; the answer may be several padded chunks, so it is
  // decoded four characters at a time.
  function toBase64(b) { return btoa(String.fromCharCode(...b)); }
  function fromBase64Groups(s) {
    const out = [];
    for (let i = 0; i + 4 <= s.length; i += 4) {
      for (const c of atob(s.slice(i, i + 4))) out.push(c.charCodeAt(0));
    }
    return new Uint8Array(out);
  }

  async function call(api, method, format, fields) {
    const text = format === 'text';
    const body = frame(encode(fields));
    const resp = await fetch(api + '/' + method, {
      method: 'POST',
      headers: {
        'Content-Type': text ? 'application/grpc-web-text' : 'application/grpc-web+proto',
        'Accept': text ? 'application/grpc-web-text' : 'application/grpc-web+proto',
        'X-Grpc-Web': '1',
        'X-User-Agent': 'oof-browser-check/1',
      },
      body: text ? toBase64(body) : body,
    });
    let data = text ? fromBase64Groups(await resp.text()) : new Uint8Array(await resp.arrayBuffer());
    // A trailers-only answer carries the status in the headers.
    let code = resp.headers.get('grpc-status'), message = resp.headers.get('grpc-message') || '';
    let reply = null;
    while (data.length >= 5) {
      const n = new DataView(data.buffer, data.byteOffset).getUint32(1);
      const payload = data.subarray(5, 5 + n);
      if (data[0] & 0x80) {
        for (const line of fromUtf8.decode(payload).split('\r\n')) {
          const [k, ...v] = line.split(':');
          if (k.trim().toLowerCase() === 'grpc-status') code = v.join(':').trim();
          if (k.trim().toLowerCase() === 'grpc-message') message = decodeURIComponent(v.join(':').trim());
        }
      } else {
        reply = decode(payload);
      }
      data = data.subarray(5 + n);
    }
    if (code !== '0') throw new Error(method + ': grpc-status ' + code + ' ' + message + ' (HTTP ' + resp.status + ')');
    return reply;
  }

  return { call };
})();
