package ops

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/oof-gg/platform/api"
)

// Every message of the committed event schema (api/events.binpb) decodes
// by its ce_type: the registry of the binary knows each one, and the schema
// analytics get is the one the binary speaks.
func TestDecodeRecordEveryEventType(t *testing.T) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(api.EventsDescriptorSet, &set); err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if fd.Package() != "oof.events.v1" {
			return true
		}
		for i := 0; i < fd.Messages().Len(); i++ {
			name := fd.Messages().Get(i).FullName()
			mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
			if err != nil {
				t.Errorf("%s: in the schema, not in the binary's registry: %v", name, err)
				continue
			}
			payload, _ := proto.Marshal(mt.New().Interface())
			m := &sarama.ConsumerMessage{Topic: "oof.x.v1", Partition: 2, Offset: 7, Key: []byte("k"), Value: payload,
				Timestamp: time.Unix(1700000000, 0),
				Headers:   []*sarama.RecordHeader{{Key: []byte("ce_type"), Value: []byte(name)}, {Key: []byte("ce_id"), Value: []byte("id-1")}}}
			line := DecodeRecord(m)
			if line.Error != "" || line.Type != string(name) || line.Data == nil || line.Headers["ce_id"] != "id-1" {
				t.Errorf("%s: %+v", name, line)
			}
			if _, err := json.Marshal(line); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			n++
		}
		return true
	})
	if n < 20 {
		t.Fatalf("only %d event types in api/events.binpb", n)
	}
}

func TestDecodeRecordUnknownType(t *testing.T) {
	line := DecodeRecord(&sarama.ConsumerMessage{Value: []byte("x"),
		Headers: []*sarama.RecordHeader{{Key: []byte("ce_type"), Value: []byte("oof.events.v1.NoSuch")}}})
	if line.Error == "" || string(line.Raw) != "x" {
		t.Fatalf("%+v", line)
	}
}

func TestTypeFilter(t *testing.T) {
	for _, c := range []struct {
		f    TypeFilter
		typ  string
		want bool
	}{
		{nil, "oof.events.v1.UserRegistered", true},
		{TypeFilter{"UserRegistered"}, "oof.events.v1.UserRegistered", true},
		{TypeFilter{"oof.events.v1.UserRegistered"}, "oof.events.v1.UserRegistered", true},
		{TypeFilter{"UserLoggedIn"}, "oof.events.v1.UserRegistered", false},
		{TypeFilter{"Registered"}, "oof.events.v1.UserRegistered", false},
	} {
		if got := c.f.Match(c.typ); got != c.want {
			t.Errorf("%v.Match(%s) = %v", c.f, c.typ, got)
		}
	}
}
