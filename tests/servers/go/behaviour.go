package main

// Behaviour driven by request metadata (tests/servers/README.md), applied by
// interceptors around every method of the test services, plus the per-call log
// line on stderr.

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golang/protobuf/ptypes"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	testpb "grpcx.test/testpb"
)

const (
	keyDelay       = "x-grpcx-delay-ms"
	keyFail        = "x-grpcx-fail"
	keyFailMessage = "x-grpcx-fail-message"
	keyFailAfter   = "x-grpcx-fail-after"
	keyFailDetails = "x-grpcx-fail-details"
	echoPrefix     = "echo-"

	defaultFailMessage = "failed on request"
)

// The services whose calls the metadata drives. Reflection and unknown
// methods are only logged.
var testServices = map[string]bool{
	"helloworld.Greeter": true,
	"grpcx.test.v1.Echo": true,
	"Hello":              true,
	"greet":              true,
}

func serviceOf(fullMethod string) string {
	s := strings.TrimPrefix(fullMethod, "/")
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[:i]
	}
	return s
}

// behaviour is what one call's request metadata asks for.
type behaviour struct {
	delay     time.Duration
	fail      error // nil: don't fail
	failAfter int   // with fail, on a server stream: messages to send first
	echo      metadata.MD
}

func first(md metadata.MD, key string) (string, bool) {
	if v := md.Get(key); len(v) > 0 {
		return strings.TrimSpace(v[0]), true
	}
	return "", false
}

// Code names, normalised by normaliseCode: "NOT_FOUND" and "NotFound" are
// both "notfound".
var codeNames = func() map[string]codes.Code {
	m := map[string]codes.Code{"canceled": codes.Canceled}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		m[normaliseCode(canonicalName(c))] = c
	}
	return m
}()

func normaliseCode(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", ""))
}

func canonicalName(c codes.Code) string {
	switch c {
	case codes.OK:
		return "OK"
	case codes.Canceled:
		return "CANCELLED"
	case codes.Unknown:
		return "UNKNOWN"
	case codes.InvalidArgument:
		return "INVALID_ARGUMENT"
	case codes.DeadlineExceeded:
		return "DEADLINE_EXCEEDED"
	case codes.NotFound:
		return "NOT_FOUND"
	case codes.AlreadyExists:
		return "ALREADY_EXISTS"
	case codes.PermissionDenied:
		return "PERMISSION_DENIED"
	case codes.ResourceExhausted:
		return "RESOURCE_EXHAUSTED"
	case codes.FailedPrecondition:
		return "FAILED_PRECONDITION"
	case codes.Aborted:
		return "ABORTED"
	case codes.OutOfRange:
		return "OUT_OF_RANGE"
	case codes.Unimplemented:
		return "UNIMPLEMENTED"
	case codes.Internal:
		return "INTERNAL"
	case codes.Unavailable:
		return "UNAVAILABLE"
	case codes.DataLoss:
		return "DATA_LOSS"
	case codes.Unauthenticated:
		return "UNAUTHENTICATED"
	}
	return "CODE(" + strconv.Itoa(int(c)) + ")"
}

// parseCode reads a status code given as a number ("5"; out of range is
// UNKNOWN, as in tonic) or a name ("NOT_FOUND", "NotFound", "not_found").
func parseCode(s string) (codes.Code, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(codes.Unauthenticated) {
			return codes.Unknown, true
		}
		return codes.Code(n), true
	}
	c, ok := codeNames[normaliseCode(s)]
	return c, ok
}

func parseBehaviour(ctx context.Context) (*behaviour, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	b := &behaviour{}
	for k, v := range md {
		if strings.HasPrefix(k, echoPrefix) {
			if b.echo == nil {
				b.echo = metadata.MD{}
			}
			b.echo[k] = append([]string(nil), v...)
		}
	}
	if v, ok := first(md, keyDelay); ok {
		if n, err := strconv.ParseUint(v, 10, 32); err == nil { // malformed: no delay
			b.delay = time.Duration(n) * time.Millisecond
		}
	}
	v, ok := first(md, keyFail)
	if !ok {
		return b, nil
	}
	code, ok := parseCode(v)
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "bad %s: %s", keyFail, v)
	}
	if code == codes.OK {
		return b, nil // "fail" with OK: behave normally
	}
	msg := defaultFailMessage
	if v := md.Get(keyFailMessage); len(v) > 0 {
		msg = v[0] // unchanged, spaces included
	}
	if v, ok := first(md, keyFailAfter); ok {
		if n, err := strconv.ParseUint(v, 10, 31); err == nil { // malformed: 0
			b.failAfter = int(n)
		}
	}
	if v, _ := first(md, keyFailDetails); v == "1" || strings.EqualFold(v, "true") {
		b.fail = detailedStatus(code, msg)
	} else {
		b.fail = status.Error(code, msg)
	}
	return b, nil
}

// detailedStatus is the failure with grpc-status-details-bin: a
// google.rpc.Status whose details are an ErrorInfo, a grpcx.test.v1.Note (a
// type only reflection can resolve) and an Any of an unknown type, in order.
func detailedStatus(code codes.Code, msg string) error {
	info, err := ptypes.MarshalAny(&errdetails.ErrorInfo{
		Reason:   "GRPCX_TEST",
		Domain:   "grpcx.test",
		Metadata: map[string]string{"key": "value"},
	})
	if err != nil {
		return status.Errorf(codes.Internal, "packing ErrorInfo: %v", err)
	}
	note, err := ptypes.MarshalAny(&testpb.Note{Text: "detail", Stars: 5})
	if err != nil {
		return status.Errorf(codes.Internal, "packing Note: %v", err)
	}
	unknown := &anypb.Any{
		TypeUrl: "type.googleapis.com/example.Unknown",
		Value:   []byte{0x01, 0x02},
	}
	return status.FromProto(&spb.Status{
		Code:    int32(code),
		Message: msg,
		Details: []*anypb.Any{info, note, unknown},
	}).Err()
}

func unaryInterceptor(ctx context.Context, req interface{}, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp interface{}, err error) {
	start := time.Now()
	defer func() { logCall(ctx, info.FullMethod, start, 0, err) }()
	if !testServices[serviceOf(info.FullMethod)] {
		return handler(ctx, req)
	}
	b, err := parseBehaviour(ctx)
	if err != nil {
		return nil, err
	}
	if b.echo != nil {
		if err := grpc.SetHeader(ctx, b.echo); err != nil {
			return nil, err
		}
		if err := grpc.SetTrailer(ctx, b.echo); err != nil {
			return nil, err
		}
	}
	if err := sleep(ctx, b.delay); err != nil {
		return nil, err
	}
	if b.fail != nil {
		return nil, b.fail
	}
	return handler(ctx, req)
}

// behaviourStream delays the first response message and, with
// x-grpcx-fail-after, fails in place of message N+1.
type behaviourStream struct {
	grpc.ServerStream
	b    *behaviour
	sent int
}

func (s *behaviourStream) SendMsg(m interface{}) error {
	if s.sent == 0 {
		if err := sleep(s.Context(), s.b.delay); err != nil {
			return err
		}
	}
	if s.b.fail != nil && s.sent >= s.b.failAfter {
		return s.b.fail
	}
	s.sent++
	return s.ServerStream.SendMsg(m)
}

func streamInterceptor(srv interface{}, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	start := time.Now()
	var w *behaviourStream
	defer func() {
		sent := 0
		if w != nil {
			sent = w.sent
		}
		logCall(ss.Context(), info.FullMethod, start, sent, err)
	}()
	if !testServices[serviceOf(info.FullMethod)] {
		return handler(srv, ss)
	}
	ctx := ss.Context()
	b, err := parseBehaviour(ctx)
	if err != nil {
		return err
	}
	if b.echo != nil {
		if err := ss.SetHeader(b.echo); err != nil {
			return err
		}
		ss.SetTrailer(b.echo)
	}
	if b.fail != nil && (!info.IsServerStream || b.failAfter == 0) {
		if err := sleep(ctx, b.delay); err != nil {
			return err
		}
		return b.fail
	}
	w = &behaviourStream{ServerStream: ss, b: b}
	if err := handler(srv, w); err != nil {
		return err
	}
	if b.fail != nil {
		// The handler sent fewer than N messages: fail anyway.
		if w.sent == 0 {
			if err := sleep(ctx, b.delay); err != nil {
				return err
			}
		}
		return b.fail
	}
	return nil
}

// unknownHandler answers calls to methods the server does not have, as
// grpc-go does by default, so that they are logged too.
func unknownHandler(s *grpc.Server) grpc.StreamHandler {
	return func(_ interface{}, stream grpc.ServerStream) error {
		full, _ := grpc.MethodFromServerStream(stream)
		svc := serviceOf(full)
		method := strings.TrimPrefix(strings.TrimPrefix(full, "/"), svc+"/")
		if _, ok := s.GetServiceInfo()[svc]; ok {
			return status.Errorf(codes.Unimplemented, "unknown method %v for service %v", method, svc)
		}
		return status.Errorf(codes.Unimplemented, "unknown service %v", svc)
	}
}

// One Write per line, so lines from concurrent calls don't interleave.
var logger = log.New(os.Stderr, "", 0)

func logCall(ctx context.Context, method string, start time.Time, sent int, err error) {
	addr := "?"
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		addr = p.Addr.String()
	}
	st := status.Convert(err)
	elapsed := float64(time.Since(start)) / float64(time.Millisecond)
	line := fmt.Sprintf("go-server: %s %s %.1fms peer=%s", method, canonicalName(st.Code()), elapsed, addr)
	if sent > 0 {
		line += fmt.Sprintf(" sent=%d", sent)
	}
	if err != nil {
		line += fmt.Sprintf(" message=%q", st.Message())
	}
	logger.Print(line)
}
