package main

// grpc.reflection.v1 on top of Debian's grpc-go.
//
// Debian 12 ships grpc-go 1.33, whose google.golang.org/grpc/reflection only
// serves grpc.reflection.v1alpha.ServerReflection (v1 arrived in 1.57). The
// v1 protocol is the v1alpha one under another package name, byte for byte on
// the wire, so this file serves v1 with the very same implementation:
//
//   - it registers a descriptor for grpc/reflection/v1/reflection.proto, made
//     from v1alpha's by renaming the package, so that reflection lists and
//     describes the v1 service like any other;
//   - it registers grpc.reflection.v1.ServerReflection with a handler that
//     runs the v1alpha implementation that reflection.Register installed.
//
// That implementation is unexported, so it is read out of the server's
// service map with reflect/unsafe. If that ever fails (another grpc-go), the
// server logs why and serves v1alpha only.

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/ioutil"
	"reflect"
	"strings"
	"unsafe"

	"google.golang.org/grpc"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

const (
	v1alphaService = "grpc.reflection.v1alpha.ServerReflection"
	v1Package      = "grpc.reflection.v1"
	v1Service      = v1Package + ".ServerReflection"
	v1File         = "grpc/reflection/v1/reflection.proto"
)

// registerReflectionV1 must run after reflection.Register(s) and before Serve.
func registerReflectionV1(s *grpc.Server) error {
	impl, err := v1alphaImpl(s)
	if err != nil {
		return err
	}
	if err := registerV1Descriptor(); err != nil {
		return err
	}
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: v1Service,
		HandlerType: (*rpb.ServerReflectionServer)(nil),
		Streams: []grpc.StreamDesc{{
			StreamName:    "ServerReflectionInfo",
			Handler:       v1Handler,
			ServerStreams: true,
			ClientStreams: true,
		}},
		Metadata: v1File,
	}, impl)
	return nil
}

// v1alphaImpl returns the implementation reflection.Register installed:
// s.services[v1alphaService].serviceImpl.
func v1alphaImpl(s *grpc.Server) (rpb.ServerReflectionServer, error) {
	services := reflect.ValueOf(s).Elem().FieldByName("services")
	if !services.IsValid() || services.Kind() != reflect.Map {
		return nil, fmt.Errorf("grpc.Server has no services map")
	}
	info := services.MapIndex(reflect.ValueOf(v1alphaService))
	if !info.IsValid() || info.Kind() != reflect.Ptr || info.IsNil() {
		return nil, fmt.Errorf("%s is not registered", v1alphaService)
	}
	field := info.Elem().FieldByName("serviceImpl")
	if !field.IsValid() || field.Kind() != reflect.Interface {
		return nil, fmt.Errorf("grpc serviceInfo has no serviceImpl")
	}
	v := reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem().Interface()
	impl, ok := v.(rpb.ServerReflectionServer)
	if !ok {
		return nil, fmt.Errorf("%s implementation is a %T", v1alphaService, v)
	}
	return impl, nil
}

// registerV1Descriptor registers grpc/reflection/v1/reflection.proto in the
// global registry, made from the v1alpha file.
func registerV1Descriptor() error {
	if _, err := protoregistry.GlobalFiles.FindFileByPath(v1File); err == nil {
		return nil
	}
	gz, _ := (&rpb.ServerReflectionRequest{}).Descriptor()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return err
	}
	raw, err := ioutil.ReadAll(zr)
	if err != nil {
		return err
	}
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(raw, fdp); err != nil {
		return err
	}
	oldPkg := fdp.GetPackage()
	fdp.Name = proto.String(v1File)
	fdp.Package = proto.String(v1Package)
	fdp.Options = &descriptorpb.FileOptions{
		GoPackage:          proto.String("google.golang.org/grpc/reflection/grpc_reflection_v1"),
		JavaMultipleFiles:  proto.Bool(true),
		JavaPackage:        proto.String("io.grpc.reflection.v1"),
		JavaOuterClassname: proto.String("ServerReflectionProto"),
	}
	rename := func(t *string) {
		if t != nil && strings.HasPrefix(*t, "."+oldPkg+".") {
			*t = "." + v1Package + strings.TrimPrefix(*t, "."+oldPkg)
		}
	}
	for _, m := range fdp.MessageType {
		for _, f := range m.Field {
			rename(f.TypeName)
		}
	}
	for _, svc := range fdp.Service {
		for _, m := range svc.Method {
			rename(m.InputType)
			rename(m.OutputType)
		}
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		return err
	}
	return protoregistry.GlobalFiles.RegisterFile(fd)
}

func v1Handler(srv interface{}, stream grpc.ServerStream) error {
	return srv.(rpb.ServerReflectionServer).ServerReflectionInfo(&v1Stream{stream})
}

// v1Stream carries v1 messages as their wire-identical v1alpha twins.
type v1Stream struct {
	grpc.ServerStream
}

func (x *v1Stream) Send(m *rpb.ServerReflectionResponse) error {
	return x.ServerStream.SendMsg(m)
}

func (x *v1Stream) Recv() (*rpb.ServerReflectionRequest, error) {
	m := new(rpb.ServerReflectionRequest)
	if err := x.ServerStream.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}
