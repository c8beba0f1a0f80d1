package main

// The test services: their business logic only. Everything driven by request
// metadata (x-grpcx-*, echo-*) is applied around them by the interceptors in
// behaviour.go, so that it works the same way for every method.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hwpb "grpcx.test/helloworld"
	nopb "grpcx.test/nopkg"
	testpb "grpcx.test/testpb"
)

// helloworld.Greeter

type greeter struct {
	hwpb.UnimplementedGreeterServer
}

func (greeter) SayHello(_ context.Context, in *hwpb.HelloRequest) (*hwpb.HelloReply, error) {
	if logCalls {
		logger.Printf("processed SayHello %s", in.GetName())
	}
	return &hwpb.HelloReply{Message: "Hello, " + in.GetName() + "!"}, nil
}

func (greeter) SayHelloStreamReply(in *hwpb.HelloRequest, stream hwpb.Greeter_SayHelloStreamReplyServer) error {
	for i := 1; i <= 3; i++ {
		msg := fmt.Sprintf("Hello, %s! (%d of 3)", in.GetName(), i)
		if err := stream.Send(&hwpb.HelloReply{Message: msg}); err != nil {
			return err
		}
	}
	return nil
}

func (greeter) SayHelloClientStream(stream hwpb.Greeter_SayHelloClientStreamServer) error {
	var names []string
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		names = append(names, in.GetName())
	}
	who := "nobody"
	if len(names) > 0 {
		who = strings.Join(names, ", ")
	}
	return stream.SendAndClose(&hwpb.HelloReply{Message: "Hello, " + who + "!"})
}

func (greeter) SayHelloBidiStream(stream hwpb.Greeter_SayHelloBidiStreamServer) error {
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&hwpb.HelloReply{Message: "Hello, " + in.GetName() + "!"}); err != nil {
			return err
		}
	}
}

// grpcx.test.v1.Echo

type echo struct {
	testpb.UnimplementedEchoServer
}

func (echo) Echo(_ context.Context, in *testpb.Everything) (*testpb.Everything, error) {
	return in, nil
}

// Stream sends each chunk with its own Send, so grpc-go writes one small DATA
// frame per message: this is what reproduces h2's "too_many_data_frames"
// against slow clients. The chunk is reused: Send marshals it before returning.
func (echo) Stream(in *testpb.StreamRequest, stream testpb.Echo_StreamServer) error {
	ctx := stream.Context()
	interval := time.Duration(in.GetIntervalMs()) * time.Millisecond
	chunk := &testpb.Chunk{Pad: strings.Repeat("x", int(in.GetPayloadSize()))}
	count := in.GetCount()
	for seq := uint32(0); seq < count; seq++ {
		if seq > 0 && interval > 0 {
			if err := sleep(ctx, interval); err != nil {
				return err
			}
		}
		chunk.Seq = seq
		if err := stream.Send(chunk); err != nil {
			return err
		}
	}
	return nil
}

func (echo) Collect(stream testpb.Echo_CollectServer) error {
	var sum testpb.Summary
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&sum)
		}
		if err != nil {
			return err
		}
		sum.Count++
		sum.Bytes += uint64(len(in.GetPad()))
	}
}

func (echo) Chat(stream testpb.Echo_ChatServer) error {
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(in); err != nil {
			return err
		}
	}
}

// Package-less services: Hello/Hello and greet/hello.

type hello struct {
	nopb.UnimplementedHelloServer
}

func (hello) Hello(_ context.Context, in *nopb.Ping) (*nopb.Ping, error) {
	return &nopb.Ping{Text: "pong: " + in.GetText()}, nil
}

type greet struct {
	nopb.UnimplementedGreetServer
}

func (greet) Hello(_ context.Context, in *nopb.Ping) (*nopb.Ping, error) {
	return &nopb.Ping{Text: "pong: " + in.GetText()}, nil
}

// sleep waits for d, or until the call is cancelled or its deadline passes.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		if ctx.Err() == context.DeadlineExceeded {
			return status.Error(codes.DeadlineExceeded, ctx.Err().Error())
		}
		return status.Error(codes.Canceled, ctx.Err().Error())
	}
}
