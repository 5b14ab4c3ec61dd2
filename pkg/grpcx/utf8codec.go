package grpcx

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Codec is gRPC's protobuf codec with one difference. A proto3 string
// must be UTF-8, and gRPC answers INTERNAL ("failed to unmarshal") for a
// request whose strings are not, before any interceptor or handler runs: a
// client's mistake looks like a server fault and names no field. Codec
// decodes such a request anyway, leaving those strings out, and lists
// their fields in an extra field no message defines; RejectInvalidUTF8
// (pkg/middleware) answers INVALID_ARGUMENT naming them. Install both
// (grpc.ForceServerCodecV2 and the interceptors) or neither: without the
// interceptor a handler would see the request minus its bad strings.
type Codec struct{}

// invalidUTF8Marker is the field number the invalid fields are listed
// under: the largest valid one, which no message of the contract uses.
const invalidUTF8Marker = protowire.MaxValidNumber

var _ encoding.CodecV2 = Codec{}

func base() encoding.CodecV2 { return encoding.GetCodecV2(protoenc.Name) }

// Name is the standard codec's, so clients need nothing special.
func (Codec) Name() string { return protoenc.Name }

// Marshal is the standard codec's.
func (Codec) Marshal(v any) (mem.BufferSlice, error) { return base().Marshal(v) }

// Unmarshal decodes like the standard codec; only a request that fails
// because of invalid UTF-8 is decoded differently (see Codec).
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	err := base().Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	clean, bad, wellFormed := scrubInvalidUTF8(data.Materialize(), m.ProtoReflect().Descriptor(), "")
	if !wellFormed || len(bad) == 0 {
		return err // malformed for another reason: the standard answer
	}
	for _, path := range bad {
		clean = protowire.AppendTag(clean, invalidUTF8Marker, protowire.BytesType)
		clean = protowire.AppendString(clean, path)
	}
	proto.Reset(m)
	if proto.Unmarshal(clean, m) != nil {
		return err
	}
	return nil
}

// InvalidUTF8Fields lists the fields of m that Codec left out because they
// were not UTF-8 (none for a message decoded normally).
func InvalidUTF8Fields(m proto.Message) []string {
	var out []string
	b := m.ProtoReflect().GetUnknown()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return out
		}
		b = b[n:]
		if num == invalidUTF8Marker && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return out
			}
			// A client may send this field itself; what it says is only
			// echoed back, as text.
			out = append(out, strings.ToValidUTF8(string(v), "\uFFFD"))
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return out
		}
		b = b[n:]
	}
	return out
}

// scrubInvalidUTF8 copies the wire message b (of type md) without the
// string fields that are not UTF-8, at any depth, and returns their paths
// (name, list[3], map[key], outer.inner). wellFormed is false when b is not
// valid protobuf wire format.
func scrubInvalidUTF8(b []byte, md protoreflect.MessageDescriptor, prefix string) (out []byte, bad []string, wellFormed bool) {
	out = make([]byte, 0, len(b))
	seen := map[protowire.Number]int{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, nil, false
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, nil, false
		}
		raw, value := b[:n+m], b[n:n+m]
		b = b[n+m:]
		fd := md.Fields().ByNumber(num)
		if fd == nil || typ != protowire.BytesType || (fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.MessageKind) {
			out = append(out, raw...)
			continue
		}
		v, _ := protowire.ConsumeBytes(value)
		path := prefix + string(fd.Name())
		if fd.IsList() {
			path += "[" + strconv.Itoa(seen[num]) + "]"
			seen[num]++
		}
		var fieldBad []string
		switch {
		case fd.Kind() == protoreflect.StringKind:
			if !utf8.Valid(v) {
				fieldBad = []string{path}
			}
		case fd.IsMap():
			var ok bool
			if fieldBad, ok = scrubMapEntry(v, fd, path); !ok {
				return nil, nil, false
			}
		default:
			var ok bool
			if _, fieldBad, ok = scrubInvalidUTF8(v, fd.Message(), path+"."); !ok {
				return nil, nil, false
			}
		}
		if len(fieldBad) > 0 {
			bad = append(bad, fieldBad...)
			continue // the field (a whole message or map entry) is left out
		}
		out = append(out, raw...)
	}
	return out, bad, true
}

// scrubMapEntry checks one map entry: a key that is not UTF-8 is reported
// as the map (it cannot be named), a value as map[key].
func scrubMapEntry(entry []byte, fd protoreflect.FieldDescriptor, path string) ([]string, bool) {
	key := ""
	if fd.MapKey().Kind() == protoreflect.StringKind {
		for b := entry; len(b) > 0; {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				return nil, false
			}
			m := protowire.ConsumeFieldValue(num, typ, b[n:])
			if m < 0 {
				return nil, false
			}
			if num == 1 && typ == protowire.BytesType {
				k, _ := protowire.ConsumeBytes(b[n : n+m])
				if !utf8.Valid(k) {
					return []string{path}, true
				}
				key = string(k)
			}
			b = b[n+m:]
		}
	}
	_, bad, ok := scrubInvalidUTF8(entry, fd.Message(), path+"["+key+"].")
	for i, p := range bad {
		// The entry's value is reported as map[key], not map[key].value.
		bad[i] = strings.Replace(p, "["+key+"].value", "["+key+"]", 1)
	}
	return bad, ok
}
