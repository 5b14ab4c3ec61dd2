package eventlog

import (
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// flakyAdmin answers CreateTopic with the errors queued in fails, then
// creates; every other method panics (the embedded nil interface).
type flakyAdmin struct {
	sarama.ClusterAdmin
	fails   []error
	created []string
	calls   int
}

func (a *flakyAdmin) ListTopics() (map[string]sarama.TopicDetail, error) {
	return map[string]sarama.TopicDetail{}, nil
}

func (a *flakyAdmin) CreateTopic(name string, _ *sarama.TopicDetail, _ bool) error {
	a.calls++
	if len(a.fails) > 0 {
		err := a.fails[0]
		a.fails = a.fails[1:]
		return err
	}
	a.created = append(a.created, name)
	return nil
}

// A create that times out on a busy broker is tried again; "already
// exists" (the timed-out attempt did create it) is success; a failure that
// persists is reported after the last attempt.
func TestEnsureTopicsRetriesCreate(t *testing.T) {
	createRetryPause = time.Millisecond
	timeout := errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout")
	exists := &sarama.TopicError{Err: sarama.ErrTopicAlreadyExists}
	spec := []TopicSpec{{Name: "t", Partitions: 1}}
	cases := []struct {
		name      string
		fails     []error
		wantErr   bool
		wantCalls int
	}{
		{"first try", nil, false, 1},
		{"timeouts, then created", []error{timeout, timeout}, false, 3},
		{"timeout, then it already exists", []error{timeout, exists}, false, 2},
		{"never", []error{timeout, timeout, timeout, timeout, timeout}, true, createAttempts},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &flakyAdmin{fails: tc.fails}
			err := EnsureTopics(a, 1, spec)
			if (err != nil) != tc.wantErr || a.calls != tc.wantCalls {
				t.Fatalf("err %v after %d calls; want error %v after %d", err, a.calls, tc.wantErr, tc.wantCalls)
			}
		})
	}
}
