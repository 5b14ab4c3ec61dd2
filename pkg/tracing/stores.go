package tracing

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// maxQueryText bounds the SQL text a span keeps.
const maxQueryText = 1024

// PgxTracer returns the tracer for a pgx pool's connections
// (ConnConfig.Tracer): a CLIENT span per statement and per batch, only
// inside a recorded span (a call, a projector batch), so the relay's and
// the pollers' background statements start no traces. Nil on a nil Tracer.
func (t *Tracer) PgxTracer() pgx.QueryTracer {
	if t == nil {
		return nil
	}
	return pgxTracer{t: t.tracer}
}

type pgxTracer struct{ t trace.Tracer }

// pgx hands TraceQueryEnd the context TraceQueryStart returned; the span
// is kept under keys of its own so a statement that started none never ends
// the span around it.
type (
	querySpanKey struct{}
	batchSpanKey struct{}
)

func (p pgxTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	ctx, span := p.t.Start(ctx, sqlOperation(data.SQL), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system.name", "postgresql"),
		attribute.String("db.query.text", truncate(data.SQL)),
	))
	return context.WithValue(ctx, querySpanKey{}, span)
}

func (p pgxTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	if span, ok := ctx.Value(querySpanKey{}).(trace.Span); ok {
		span.SetAttributes(attribute.Int64("db.response.returned_rows", data.CommandTag.RowsAffected()))
		end(span, data.Err)
	}
}

func (p pgxTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	n := 0
	if data.Batch != nil {
		n = data.Batch.Len()
	}
	ctx, span := p.t.Start(ctx, "BATCH", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system.name", "postgresql"),
		attribute.Int("db.operation.batch.size", n),
	))
	return context.WithValue(ctx, batchSpanKey{}, &batchSpan{span: span})
}

// batchSpan is a batch's span and how many statements it listed.
type batchSpan struct {
	span   trace.Span
	listed int
}

// maxBatchEvents bounds the statements a batch span lists (a projector's
// batch can hold hundreds).
const maxBatchEvents = 32

func (p pgxTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	b, ok := ctx.Value(batchSpanKey{}).(*batchSpan)
	if !ok {
		return
	}
	if data.Err != nil {
		b.span.RecordError(data.Err, trace.WithAttributes(attribute.String("db.query.text", truncate(data.SQL))))
		return
	}
	if b.listed >= maxBatchEvents {
		return
	}
	b.listed++
	b.span.AddEvent("statement", trace.WithAttributes(attribute.String("db.query.text", truncate(data.SQL))))
}

func (p pgxTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	if b, ok := ctx.Value(batchSpanKey{}).(*batchSpan); ok {
		end(b.span, data.Err)
	}
}

// sqlOperation names a statement's span by its first keyword (SELECT,
// INSERT, BEGIN …): low cardinality, as span names should be.
func sqlOperation(sql string) string {
	s := strings.TrimSpace(sql)
	if i := strings.IndexAny(s, " \t\n("); i > 0 {
		s = s[:i]
	}
	if s == "" {
		return "SQL"
	}
	return strings.ToUpper(s)
}

func truncate(s string) string {
	if len(s) > maxQueryText {
		return s[:maxQueryText]
	}
	return s
}

// RedisHook returns the hook for a go-redis client (AddHook): a CLIENT
// span per command and per pipeline, only inside a recorded span. Nil on a
// nil Tracer.
func (t *Tracer) RedisHook() redis.Hook {
	if t == nil {
		return nil
	}
	return redisHook{t: t.tracer}
}

type redisHook struct{ t trace.Tracer }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !trace.SpanFromContext(ctx).IsRecording() {
			return next(ctx, cmd)
		}
		ctx, span := h.t.Start(ctx, strings.ToUpper(cmd.Name()), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("db.system.name", "redis"),
			attribute.String("db.operation.name", strings.ToUpper(cmd.Name())),
		))
		err := next(ctx, cmd)
		end(span, redisErr(err))
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !trace.SpanFromContext(ctx).IsRecording() {
			return next(ctx, cmds)
		}
		ctx, span := h.t.Start(ctx, "PIPELINE", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("db.system.name", "redis"),
			attribute.Int("db.operation.batch.size", len(cmds)),
		))
		err := next(ctx, cmds)
		end(span, redisErr(err))
		return err
	}
}

// redisErr drops redis.Nil: a missing key is an answer, not a failure.
func redisErr(err error) error {
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}
