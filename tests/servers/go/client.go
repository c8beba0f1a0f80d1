package main

// The grpc-go client mode (-client ADDR): calls one helloworld.Greeter
// method with grpc-go's generated stubs and prints what it saw as JSON lines,
// so that grpcx's tests can check a server grpcx serves (`grpcx serve
// --stubs`) with a client grpcx did not write:
//
//	grpcx-test-go-server -client ADDR -method SayHello -names ann -header x-team=blue
//
//	{"headers":{...}}
//	{"message":"..."}                 each response
//	{"code":"OK","message":"...","trailers":{...},"details":["REASON",...]}
//
// -names gives the request names (comma-separated): the first for unary and
// server-streaming methods, each in turn for client and bidi streams.

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	hwpb "grpcx.test/helloworld"
)

func emit(v interface{}) {
	line, _ := json.Marshal(v)
	os.Stdout.Write(append(line, '\n'))
}

func flat(md metadata.MD) map[string]string {
	out := map[string]string{}
	for k, vs := range md {
		if k == "date" || k == "content-type" || strings.HasPrefix(k, "grpc-") {
			continue
		}
		out[k] = strings.Join(vs, ",")
	}
	return out
}

func runClient(addr, method, names, headers string) {
	conn, err := grpc.Dial(addr, grpc.WithInsecure(), grpc.WithBlock(), grpc.WithTimeout(10*time.Second))
	if err != nil {
		fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, h := range strings.Split(headers, ",") {
		if kv := strings.SplitN(h, "=", 2); len(kv) == 2 {
			ctx = metadata.AppendToOutgoingContext(ctx, kv[0], kv[1])
		}
	}
	requests := []*hwpb.HelloRequest{}
	for _, n := range strings.Split(names, ",") {
		requests = append(requests, &hwpb.HelloRequest{Name: n})
	}
	client := hwpb.NewGreeterClient(conn)
	var header, trailer metadata.MD
	var callErr error
	switch method {
	case "SayHello":
		var reply *hwpb.HelloReply
		reply, callErr = client.SayHello(ctx, requests[0], grpc.Header(&header), grpc.Trailer(&trailer))
		emit(map[string]interface{}{"headers": flat(header)})
		if callErr == nil {
			emit(map[string]string{"message": reply.GetMessage()})
		}
	case "SayHelloStreamReply":
		stream, err := client.SayHelloStreamReply(ctx, requests[0])
		if err != nil {
			fatalf("%v", err)
		}
		header, trailer, callErr = receive(stream, stream.Recv)
	case "SayHelloClientStream":
		stream, err := client.SayHelloClientStream(ctx)
		if err != nil {
			fatalf("%v", err)
		}
		for _, r := range requests {
			if err := stream.Send(r); err != nil {
				break
			}
		}
		reply, err := stream.CloseAndRecv()
		callErr = err
		header, _ = stream.Header()
		emit(map[string]interface{}{"headers": flat(header)})
		if err == nil {
			emit(map[string]string{"message": reply.GetMessage()})
		}
		trailer = stream.Trailer()
	case "SayHelloBidiStream":
		stream, err := client.SayHelloBidiStream(ctx)
		if err != nil {
			fatalf("%v", err)
		}
		go func() {
			for _, r := range requests {
				if stream.Send(r) != nil {
					return
				}
			}
			stream.CloseSend()
		}()
		header, trailer, callErr = receive(stream, stream.Recv)
	default:
		fatalf("-method: no method %q in helloworld.Greeter", method)
	}
	st := status.Convert(callErr)
	reasons := []string{}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reasons = append(reasons, info.Reason)
		}
	}
	code := "OK"
	if st.Code() != codes.OK {
		code = strings.ToUpper(toSnake(st.Code().String()))
	}
	emit(map[string]interface{}{"code": code, "message": st.Message(), "trailers": flat(trailer), "details": reasons})
}

// The headers, every reply (printed as it comes), then the trailers and
// the status of a stream of replies.
func receive(stream grpc.ClientStream, recv func() (*hwpb.HelloReply, error)) (metadata.MD, metadata.MD, error) {
	header, _ := stream.Header()
	emit(map[string]interface{}{"headers": flat(header)})
	var callErr error
	for {
		reply, err := recv()
		if err != nil {
			if err != io.EOF {
				callErr = err
			}
			break
		}
		emit(map[string]string{"message": reply.GetMessage()})
	}
	return header, stream.Trailer(), callErr
}

// NotFound -> Not_Found
func toSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}
