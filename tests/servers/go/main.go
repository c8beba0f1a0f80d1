// grpcx-test-go-server: the grpc-go test server for grpcx's integration tests.
//
// It follows the contract in tests/servers/README.md. Built offline from
// Debian's packages in GOPATH mode by build.sh, which also generates the code
// for proto/ (packages grpcx.test/...).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io/ioutil"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	hwpb "grpcx.test/helloworld"
	nopb "grpcx.test/nopkg"
	// testpb holds everything.proto and note.proto, so Note, which no other
	// file imports, is in the global registry too (for Any and reflection).
	testpb "grpcx.test/testpb"
)

func main() {
	port := flag.Int("port", 0, "port to listen on at 127.0.0.1 (0: any free port)")
	noReflection := flag.Bool("no-reflection", false, "serve no reflection service")
	tlsCert := flag.String("tls-cert", "", "serve TLS with this PEM certificate (chain)")
	tlsKey := flag.String("tls-key", "", "PEM private key for --tls-cert")
	clientCA := flag.String("client-ca", "", "require client certificates signed by this PEM CA (needs --tls-cert)")
	maxAge := flag.Duration("max-connection-age", 0, "close each connection (GOAWAY) after this long, as servers behind load balancers do (0: never)")
	flag.BoolVar(&logCalls, "log-calls", false, "log every SayHello call processed, with its name, to stderr")
	client := flag.String("client", "", "instead of serving, call a helloworld.Greeter method at this address (client.go)")
	method := flag.String("method", "SayHello", "with -client: the method")
	names := flag.String("names", "you", "with -client: the request names, comma-separated")
	headers := flag.String("header", "", "with -client: request metadata, NAME=VALUE, comma-separated")
	flag.Parse()
	if flag.NArg() > 0 {
		fatalf("unexpected argument %q", flag.Arg(0))
	}
	if *client != "" {
		runClient(*client, *method, *names, *headers)
		return
	}

	opts := []grpc.ServerOption{
		grpc.UnaryInterceptor(unaryInterceptor),
		grpc.StreamInterceptor(streamInterceptor),
	}
	if *tlsCert != "" || *tlsKey != "" || *clientCA != "" {
		creds, err := serverTLS(*tlsCert, *tlsKey, *clientCA)
		if err != nil {
			fatalf("%v", err)
		}
		opts = append(opts, grpc.Creds(creds))
	}
	if *maxAge > 0 {
		opts = append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionAge:      *maxAge,
			MaxConnectionAgeGrace: 10 * time.Second,
		}))
	}
	var s *grpc.Server
	opts = append(opts, grpc.UnknownServiceHandler(func(srv interface{}, stream grpc.ServerStream) error {
		return unknownHandler(s)(srv, stream)
	}))
	s = grpc.NewServer(opts...)

	hwpb.RegisterGreeterServer(s, greeter{})
	testpb.RegisterEchoServer(s, echo{})
	nopb.RegisterHelloServer(s, hello{})
	nopb.RegisterGreetServer(s, greet{})
	if !*noReflection {
		reflection.Register(s) // grpc.reflection.v1alpha
		if err := registerReflectionV1(s); err != nil {
			logger.Printf("go-server: serving reflection v1alpha only: %v", err)
		}
	}

	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fatalf("listen: %v", err)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-sigs
		logger.Printf("go-server: %v, stopping", sig)
		s.Stop() // closes the listener and every connection; Serve returns
	}()

	// os.Stdout is unbuffered: the line is out once Println returns.
	fmt.Println("LISTENING " + lis.Addr().String())
	if err := s.Serve(lis); err != nil && err != grpc.ErrServerStopped {
		fatalf("serve: %v", err)
	}
}

// Whether SayHello logs each call it processes (--log-calls), so that a test
// can tell that no call was lost or processed twice.
var logCalls bool

func serverTLS(certFile, keyFile, caFile string) (credentials.TransportCredentials, error) {
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together (and --client-ca needs them)")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading --tls-cert/--tls-key: %v", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if caFile != "" {
		pem, err := ioutil.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading --client-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca %s: no PEM certificate", caFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return credentials.NewTLS(cfg), nil
}

func fatalf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "grpcx-test-go-server: "+format+"\n", args...)
	os.Exit(2)
}
