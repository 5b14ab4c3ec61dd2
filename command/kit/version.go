package kit

import (
	"context"
	"fmt"
	"github.com/oof-gg/platform/pkg/headers"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/oof-gg/platform/pkg/apperr"
)

// Optimistic concurrency on the wire: every change answers with the
// aggregate's new version in VersionHeader; a client may send it back in
// ExpectedVersionHeader, and a mismatch fails ABORTED instead of overwriting
// a change it has not seen. (The contract's messages have no version field.)
const (
	VersionHeader         = headers.Version
	ExpectedVersionHeader = headers.ExpectedVersion
)

// ExpectedVersion reads ExpectedVersionHeader; 0 means the client sent none.
func ExpectedVersion(ctx context.Context) (int64, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(ExpectedVersionHeader)
	if len(v) == 0 {
		return 0, nil
	}
	want, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || want < 1 {
		return 0, apperr.Invalid(ExpectedVersionHeader, "must be a positive integer")
	}
	return want, nil
}

// CheckExpectedVersion fails ABORTED when the client expected another
// version of the aggregate (what) than current.
func CheckExpectedVersion(ctx context.Context, what string, current int64) error {
	want, err := ExpectedVersion(ctx)
	if err != nil || want == 0 || want == current {
		return err
	}
	return apperr.Aborted(fmt.Sprintf("%s was changed since version %d (now %d); reload and retry", what, want, current))
}

// SetVersion answers the aggregate's version in VersionHeader.
func SetVersion(ctx context.Context, version int64) {
	_ = grpc.SetHeader(ctx, metadata.Pairs(VersionHeader, strconv.FormatInt(version, 10)))
}

// ConsistencyHeader tells a client whether the read models already show
// its change: ConsistencyFresh means a read right after this answer sees
// it; ConsistencyPending means the change is committed and will appear
// (Kafka or a projector is behind), so a read may still be older.
const (
	ConsistencyHeader  = headers.Consistency
	ConsistencyFresh   = "fresh"
	ConsistencyPending = "pending"
)

// SetConsistency answers ConsistencyHeader; outside a gRPC call it does
// nothing.
func SetConsistency(ctx context.Context, value string) {
	_ = grpc.SetHeader(ctx, metadata.Pairs(ConsistencyHeader, value))
}
