// Package validatetest holds the assertions the request-validation fuzz
// targets of command/* share: a refusal is a well-formed INVALID_ARGUMENT,
// and anything accepted can be encoded and stored.
package validatetest

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/validate"
)

// Unstorable lists the paths of every string in m (fields, list elements,
// map keys and values, nested messages) that validate.Storable refuses.
func Unstorable(m proto.Message) []string {
	var bad []string
	walk(m.ProtoReflect(), "", &bad)
	return bad
}

func walk(m protoreflect.Message, prefix string, bad *[]string) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		path := prefix + string(fd.Name())
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				elem := fmt.Sprintf("%s[%q]", path, k.String())
				if fd.MapKey().Kind() == protoreflect.StringKind && !validate.Storable(k.String()) {
					*bad = append(*bad, elem+" (key)")
				}
				value(fd.MapValue(), mv, elem, bad)
				return true
			})
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				value(fd, v.List().Get(i), fmt.Sprintf("%s[%d]", path, i), bad)
			}
		default:
			value(fd, v, path, bad)
		}
		return true
	})
}

func value(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string, bad *[]string) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if !validate.Storable(v.String()) {
			*bad = append(*bad, path)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		walk(v.Message(), path+".", bad)
	}
}

// RequireRefusal fails t unless err is INVALID_ARGUMENT naming at least one
// field, with field names and descriptions that can themselves be sent
// (they travel in protobuf strings of the status details).
func RequireRefusal(t *testing.T, err error) {
	t.Helper()
	var ae *apperr.Error
	if !apperr.Is(err, apperr.KindInvalid) || !errors.As(err, &ae) || len(ae.Fields) == 0 {
		t.Fatalf("refusal is not INVALID_ARGUMENT with fields: %v", err)
	}
	for _, f := range ae.Fields {
		if f.Field == "" || !validate.Storable(f.Field) || !validate.Storable(f.Description) {
			t.Fatalf("refusal names an unusable field %q (%q)", f.Field, f.Description)
		}
	}
	if !validate.Storable(ae.Message) {
		t.Fatalf("refusal message is not text: %q", ae.Message)
	}
}

// RequireStorable fails t unless every message of accepted is fully
// storable text and encodes (as the write model and the events do).
func RequireStorable(t *testing.T, accepted ...proto.Message) {
	t.Helper()
	for _, m := range accepted {
		if bad := Unstorable(m); len(bad) > 0 {
			t.Fatalf("accepted %T with unstorable text at %v", m, bad)
		}
		if _, err := (proto.MarshalOptions{Deterministic: true}).Marshal(m); err != nil {
			t.Fatalf("accepted %T that cannot be encoded: %v", m, err)
		}
	}
}
