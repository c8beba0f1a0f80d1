# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_grpcx_global_optspecs
    string join \n error-format= h/help V/version
end

function __fish_grpcx_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_grpcx_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_grpcx_using_subcommand
    set -l cmd (__fish_grpcx_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c grpcx -n "__fish_grpcx_needs_command" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c grpcx -n "__fish_grpcx_needs_command" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "call" -d 'Call a method: unary, server streaming, client streaming or bidi'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "list" -d 'List the services of a server or schema, or the methods of one service'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "describe" -d 'Show a service, method, message, enum or field as proto source, or a JSON request template'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "shell" -d 'An interactive session on one connection that knows the schema: list, describe, call (asking for each field), headers and settings kept between calls, Tab completion and history. With stdin from a pipe it runs the commands line by line, for CI'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "serve" -d 'Run a server: the bundled greeter, or a mock of any schema answered from stub files (--stubs), with a call log (--log), or a recording proxy to a real server (--record DIR --upstream TARGET). Reflection and health are always on'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "bench" -d 'Load-test a method: many calls over a pool of connections, closed (-c in flight) or open (--rate per second), with a latency report'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "demo" -d 'A one-command tour: starts the bundled server and calls it'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "ui" -d 'A web page for the schema and the calls, served by grpcx on loopback: pick a method, fill a form, watch the responses arrive. Without a TARGET (and without --proto/--protoset) it starts the bundled server'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "completions" -d 'Print a shell completion script. Bash, zsh and fish also complete the services and methods of the server on the line (by reflection, or from --proto/--protoset): `source <(grpcx completions bash)`'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "cache" -d 'Manage the descriptor cache that calls by reflection keep ($XDG_CACHE_HOME/grpcx, else ~/.cache/grpcx)'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "convert" -d 'Convert a message between binary, JSON and text format, stdin to stdout (as `buf convert` and `protoc --encode/--decode` do)'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "health" -d 'Check the health of a server or of some of its services (grpc.health.v1, as grpc_health_probe does), or follow it with --watch'
complete -c grpcx -n "__fish_grpcx_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -s d -l data -d 'The request, as DATA above' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l input-format -d 'The format of DATA: `json` (JSON objects, NDJSON or concatenated) or `text` (protobuf text format; several messages are separated by the ASCII record separator 0x1E, as grpcurl\'s `-format text` reads them)' -r -f -a "json\t''
text\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l proto -d 'A .proto file to parse (repeatable), found as protoc finds it: a path inside an -I root is named under that root, a name that is not a path is looked up in each -I root in order, and a file outside every root brings its own directory as a root. A directory loads every .proto under it, recursively, with the directory as an import root' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -s I -l import-path -d 'A directory to resolve imports from (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l protoset -d 'A binary FileDescriptorSet, as `protoc --descriptor_set_out --include_imports` writes it (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l cacert -d 'Trust only the CA certificates in this PEM file (it may hold several) instead of the system roots' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l cert -d 'A client certificate (PEM) for mutual TLS; needs --key' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l key -d 'The private key (PEM) of --cert' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l authority -d 'The :authority to send, and the name the server\'s certificate must be valid for' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l proxy -d 'Send this command through an HTTP CONNECT proxy, `http://[USER:PASS@]HOST:PORT` (loopback targets too). Without it, HTTPS_PROXY, ALL_PROXY and NO_PROXY apply to non-loopback targets' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l connect-timeout -d 'Seconds to wait for the connection (and the TLS handshake)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l max-time -d 'A deadline for the whole command (connect, reflection and call), also sent to the server as grpc-timeout. When it passes, grpcx exits 68 (DeadlineExceeded)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l keepalive -d 'Send an HTTP/2 ping every SECS seconds, to keep long streams alive through proxies and detect a dead peer' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l max-msg-size -d 'The largest response message accepted, in bytes (suffixes KiB, MiB and GiB work too)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l compress -d 'Compress request messages. gzip and zstd responses are always accepted' -r -f -a "gzip\t''
zstd\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -s H -l header -d 'A request header, `name: value` (repeatable), sent with the call and with reflection requests. Names are lowercased; values of `-bin` keys are base64. `@FILE` reads `name: value` lines from a file' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l rpc-header -d 'A header for the call only, not for reflection (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l reflect-header -d 'A header for reflection requests only (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l protocol -d 'The wire protocol: `grpc` (HTTP/2), `grpcweb` or `connect` (HTTP/1.1 or HTTP/2). Output and exit codes are the same for all three' -r -f -a "grpc\t''
grpcweb\t''
connect\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l format -d 'Output format: `auto` is pretty JSON on a terminal and one compact JSON object per line otherwise; `json` is always pretty, `ndjson` always compact; `text` is the protobuf text format (one message per line when piped, a blank line between messages on a terminal)' -r -f -a "auto\t''
json\t''
ndjson\t''
text\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l color -d 'Colour JSON output: `auto` colours it on a terminal unless NO_COLOR is set; `always` colours it anywhere (e.g. for `less -R`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l protoset-out -d 'Write the schema the call used (the method, the types named by Anys, and every file they import) to FILE as a FileDescriptorSet. It is written once the method is resolved, so a failing call still writes it, and again at the end if Any types were fetched meanwhile' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l concurrency -d 'With --each: how many calls are in flight at once' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l allow-unknown-fields -d 'Ignore request fields the schema does not know, instead of failing'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l plaintext -d 'Speak plaintext HTTP/2 (h2c), whatever the target looks like'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l tls -d 'Speak TLS, whatever the target looks like (even on loopback)'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l insecure -d 'Do not verify the server\'s certificate (a warning says so on stderr)'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l expand-headers -d 'Expand `${VAR}` in headers from the environment; a variable that is not set is an error'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l http2-prior-knowledge -d 'With --protocol grpcweb or connect over plaintext, speak HTTP/2 (h2c) rather than HTTP/1.1. Bidi streams need it (or TLS, where ALPN picks)'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -s v -l verbose -d 'Print to stderr the request headers (credentials masked), response headers, trailers, status and timings. -vv shows credentials too'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l emit-defaults -d 'Print fields that hold their default value (0, "", false, empty)'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l proto-names -d 'Print the .proto field names (snake_case) instead of lowerCamelCase'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l int64-as-number -d 'Print 64-bit integers as JSON numbers instead of strings'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l enum-as-number -d 'Print enum values as numbers instead of names'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l envelope -d 'Print every event of the call as one tagged JSON object per line: {"headers":…}, {"message":…} for each message, {"trailers":…}, and last {"status":{"code","codeNumber","message","details"}}'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l no-cache -d 'Neither read nor write the descriptor cache for this call (by reflection the method\'s files are cached; see `grpcx cache`)'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l each -d 'Make one call per JSON value of the input (unary and server-streaming methods), all over one connection, printing the results in input order. A failed call prints `ERROR: call I: ...` and the run goes on'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -l fail-fast -d 'With --each: stop at the first failed call'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -s h -l help -d 'Print help'
complete -c grpcx -n "__fish_grpcx_using_subcommand call" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l protoset-out -d 'Write the listed services\' schema, with every file it imports, to FILE as a FileDescriptorSet (for a later --protoset)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l proto -d 'A .proto file to parse (repeatable), found as protoc finds it: a path inside an -I root is named under that root, a name that is not a path is looked up in each -I root in order, and a file outside every root brings its own directory as a root. A directory loads every .proto under it, recursively, with the directory as an import root' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -s I -l import-path -d 'A directory to resolve imports from (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l protoset -d 'A binary FileDescriptorSet, as `protoc --descriptor_set_out --include_imports` writes it (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l cacert -d 'Trust only the CA certificates in this PEM file (it may hold several) instead of the system roots' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l cert -d 'A client certificate (PEM) for mutual TLS; needs --key' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l key -d 'The private key (PEM) of --cert' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l authority -d 'The :authority to send, and the name the server\'s certificate must be valid for' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l proxy -d 'Send this command through an HTTP CONNECT proxy, `http://[USER:PASS@]HOST:PORT` (loopback targets too). Without it, HTTPS_PROXY, ALL_PROXY and NO_PROXY apply to non-loopback targets' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l connect-timeout -d 'Seconds to wait for the connection (and the TLS handshake)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l max-time -d 'A deadline for the whole command (connect, reflection and call), also sent to the server as grpc-timeout. When it passes, grpcx exits 68 (DeadlineExceeded)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l keepalive -d 'Send an HTTP/2 ping every SECS seconds, to keep long streams alive through proxies and detect a dead peer' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l max-msg-size -d 'The largest response message accepted, in bytes (suffixes KiB, MiB and GiB work too)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l compress -d 'Compress request messages. gzip and zstd responses are always accepted' -r -f -a "gzip\t''
zstd\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -s H -l header -d 'A request header, `name: value` (repeatable), sent with the call and with reflection requests. Names are lowercased; values of `-bin` keys are base64. `@FILE` reads `name: value` lines from a file' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l rpc-header -d 'A header for the call only, not for reflection (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l reflect-header -d 'A header for reflection requests only (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l protocol -d 'The wire protocol: `grpc` (HTTP/2), `grpcweb` or `connect` (HTTP/1.1 or HTTP/2). Output and exit codes are the same for all three' -r -f -a "grpc\t''
grpcweb\t''
connect\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -s l -l long -d 'Also show each method\'s streaming kind, request type and response type, tab-separated. Without SERVICE, lists every method of every service this way'
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l plaintext -d 'Speak plaintext HTTP/2 (h2c), whatever the target looks like'
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l tls -d 'Speak TLS, whatever the target looks like (even on loopback)'
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l insecure -d 'Do not verify the server\'s certificate (a warning says so on stderr)'
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l expand-headers -d 'Expand `${VAR}` in headers from the environment; a variable that is not set is an error'
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -l http2-prior-knowledge -d 'With --protocol grpcweb or connect over plaintext, speak HTTP/2 (h2c) rather than HTTP/1.1. Bidi streams need it (or TLS, where ALPN picks)'
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -s v -l verbose -d 'Print to stderr the request headers (credentials masked), response headers, trailers, status and timings. -vv shows credentials too'
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -s h -l help -d 'Print help'
complete -c grpcx -n "__fish_grpcx_using_subcommand list" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l format -d '`text` is proto source; `json` is the descriptor itself (DescriptorProto, ServiceDescriptorProto, ... in their JSON mapping)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l protoset-out -d 'Write the described symbols\' schema, with every file it imports, to FILE as a FileDescriptorSet (for a later --protoset)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l proto -d 'A .proto file to parse (repeatable), found as protoc finds it: a path inside an -I root is named under that root, a name that is not a path is looked up in each -I root in order, and a file outside every root brings its own directory as a root. A directory loads every .proto under it, recursively, with the directory as an import root' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -s I -l import-path -d 'A directory to resolve imports from (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l protoset -d 'A binary FileDescriptorSet, as `protoc --descriptor_set_out --include_imports` writes it (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l cacert -d 'Trust only the CA certificates in this PEM file (it may hold several) instead of the system roots' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l cert -d 'A client certificate (PEM) for mutual TLS; needs --key' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l key -d 'The private key (PEM) of --cert' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l authority -d 'The :authority to send, and the name the server\'s certificate must be valid for' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l proxy -d 'Send this command through an HTTP CONNECT proxy, `http://[USER:PASS@]HOST:PORT` (loopback targets too). Without it, HTTPS_PROXY, ALL_PROXY and NO_PROXY apply to non-loopback targets' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l connect-timeout -d 'Seconds to wait for the connection (and the TLS handshake)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l max-time -d 'A deadline for the whole command (connect, reflection and call), also sent to the server as grpc-timeout. When it passes, grpcx exits 68 (DeadlineExceeded)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l keepalive -d 'Send an HTTP/2 ping every SECS seconds, to keep long streams alive through proxies and detect a dead peer' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l max-msg-size -d 'The largest response message accepted, in bytes (suffixes KiB, MiB and GiB work too)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l compress -d 'Compress request messages. gzip and zstd responses are always accepted' -r -f -a "gzip\t''
zstd\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -s H -l header -d 'A request header, `name: value` (repeatable), sent with the call and with reflection requests. Names are lowercased; values of `-bin` keys are base64. `@FILE` reads `name: value` lines from a file' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l rpc-header -d 'A header for the call only, not for reflection (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l reflect-header -d 'A header for reflection requests only (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l protocol -d 'The wire protocol: `grpc` (HTTP/2), `grpcweb` or `connect` (HTTP/1.1 or HTTP/2). Output and exit codes are the same for all three' -r -f -a "grpc\t''
grpcweb\t''
connect\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l template -d 'Print only a JSON request skeleton for a message, or for a method\'s input type, that `grpcx call` accepts as is'
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l plaintext -d 'Speak plaintext HTTP/2 (h2c), whatever the target looks like'
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l tls -d 'Speak TLS, whatever the target looks like (even on loopback)'
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l insecure -d 'Do not verify the server\'s certificate (a warning says so on stderr)'
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l expand-headers -d 'Expand `${VAR}` in headers from the environment; a variable that is not set is an error'
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -l http2-prior-knowledge -d 'With --protocol grpcweb or connect over plaintext, speak HTTP/2 (h2c) rather than HTTP/1.1. Bidi streams need it (or TLS, where ALPN picks)'
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -s v -l verbose -d 'Print to stderr the request headers (credentials masked), response headers, trailers, status and timings. -vv shows credentials too'
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -s h -l help -d 'Print help'
complete -c grpcx -n "__fish_grpcx_using_subcommand describe" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l proto -d 'A .proto file to parse (repeatable), found as protoc finds it: a path inside an -I root is named under that root, a name that is not a path is looked up in each -I root in order, and a file outside every root brings its own directory as a root. A directory loads every .proto under it, recursively, with the directory as an import root' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -s I -l import-path -d 'A directory to resolve imports from (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l protoset -d 'A binary FileDescriptorSet, as `protoc --descriptor_set_out --include_imports` writes it (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l cacert -d 'Trust only the CA certificates in this PEM file (it may hold several) instead of the system roots' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l cert -d 'A client certificate (PEM) for mutual TLS; needs --key' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l key -d 'The private key (PEM) of --cert' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l authority -d 'The :authority to send, and the name the server\'s certificate must be valid for' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l proxy -d 'Send this command through an HTTP CONNECT proxy, `http://[USER:PASS@]HOST:PORT` (loopback targets too). Without it, HTTPS_PROXY, ALL_PROXY and NO_PROXY apply to non-loopback targets' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l connect-timeout -d 'Seconds to wait for the connection (and the TLS handshake)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l max-time -d 'A deadline for the whole command (connect, reflection and call), also sent to the server as grpc-timeout. When it passes, grpcx exits 68 (DeadlineExceeded)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l keepalive -d 'Send an HTTP/2 ping every SECS seconds, to keep long streams alive through proxies and detect a dead peer' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l max-msg-size -d 'The largest response message accepted, in bytes (suffixes KiB, MiB and GiB work too)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l compress -d 'Compress request messages. gzip and zstd responses are always accepted' -r -f -a "gzip\t''
zstd\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -s H -l header -d 'A request header, `name: value` (repeatable), sent with the call and with reflection requests. Names are lowercased; values of `-bin` keys are base64. `@FILE` reads `name: value` lines from a file' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l rpc-header -d 'A header for the call only, not for reflection (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l reflect-header -d 'A header for reflection requests only (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l protocol -d 'The wire protocol: `grpc` (HTTP/2), `grpcweb` or `connect` (HTTP/1.1 or HTTP/2). Output and exit codes are the same for all three' -r -f -a "grpc\t''
grpcweb\t''
connect\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l format -d 'Output format: `auto` is pretty JSON on a terminal and one compact JSON object per line otherwise; `json` is always pretty, `ndjson` always compact; `text` is the protobuf text format (one message per line when piped, a blank line between messages on a terminal)' -r -f -a "auto\t''
json\t''
ndjson\t''
text\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l color -d 'Colour JSON output: `auto` colours it on a terminal unless NO_COLOR is set; `always` colours it anywhere (e.g. for `less -R`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l allow-unknown-fields -d 'Ignore request fields the schema does not know, instead of failing (`set allow-unknown-fields on` in the session)'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l no-history -d 'Neither read nor write the history file'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l plaintext -d 'Speak plaintext HTTP/2 (h2c), whatever the target looks like'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l tls -d 'Speak TLS, whatever the target looks like (even on loopback)'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l insecure -d 'Do not verify the server\'s certificate (a warning says so on stderr)'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l expand-headers -d 'Expand `${VAR}` in headers from the environment; a variable that is not set is an error'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l http2-prior-knowledge -d 'With --protocol grpcweb or connect over plaintext, speak HTTP/2 (h2c) rather than HTTP/1.1. Bidi streams need it (or TLS, where ALPN picks)'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -s v -l verbose -d 'Print to stderr the request headers (credentials masked), response headers, trailers, status and timings. -vv shows credentials too'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l emit-defaults -d 'Print fields that hold their default value (0, "", false, empty)'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l proto-names -d 'Print the .proto field names (snake_case) instead of lowerCamelCase'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l int64-as-number -d 'Print 64-bit integers as JSON numbers instead of strings'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l enum-as-number -d 'Print enum values as numbers instead of names'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -l envelope -d 'Print every event of the call as one tagged JSON object per line: {"headers":…}, {"message":…} for each message, {"trailers":…}, and last {"status":{"code","codeNumber","message","details"}}'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -s h -l help -d 'Print help'
complete -c grpcx -n "__fish_grpcx_using_subcommand shell" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l addr -d 'The address to listen on; port 0 picks a free port' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l unix -d 'Listen on this unix socket instead of --addr' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l tls-cert -d 'Serve TLS with this certificate chain (PEM); needs --tls-key' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l tls-key -d 'The private key (PEM) of --tls-cert' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l client-ca -d 'Require client certificates signed by this CA (PEM); needs --tls-cert' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l proto -d 'A .proto file to parse (repeatable), found as protoc finds it: a path inside an -I root is named under that root, a name that is not a path is looked up in each -I root in order, and a file outside every root brings its own directory as a root. A directory loads every .proto under it, recursively, with the directory as an import root' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -s I -l import-path -d 'A directory to resolve imports from (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l protoset -d 'A binary FileDescriptorSet, as `protoc --descriptor_set_out --include_imports` writes it (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l schema-from -d 'Take the schema from this running server\'s reflection' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l stubs -d 'Answer from these stubs: a .json or .yaml file, or a folder of them (read recursively). Changed files are reloaded while serving' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l log -d 'Write one JSON line per call (method, requests, headers, the stub that answered, status, time) to FILE, or `-` for stdout' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l record -d 'Forward every call to --upstream and write what passed as stub files into DIR, for a later `--stubs DIR` to replay' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l upstream -d 'The real server --record forwards to; also the schema, by reflection, unless --proto or --protoset is given' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l cacert -d 'Trust only the CA certificates in this PEM file (it may hold several) instead of the system roots' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l cert -d 'A client certificate (PEM) for mutual TLS; needs --key' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l key -d 'The private key (PEM) of --cert' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l authority -d 'The :authority to send, and the name the server\'s certificate must be valid for' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l proxy -d 'Send this command through an HTTP CONNECT proxy, `http://[USER:PASS@]HOST:PORT` (loopback targets too). Without it, HTTPS_PROXY, ALL_PROXY and NO_PROXY apply to non-loopback targets' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l connect-timeout -d 'Seconds to wait for the connection (and the TLS handshake)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l max-time -d 'A deadline for the whole command (connect, reflection and call), also sent to the server as grpc-timeout. When it passes, grpcx exits 68 (DeadlineExceeded)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l keepalive -d 'Send an HTTP/2 ping every SECS seconds, to keep long streams alive through proxies and detect a dead peer' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l max-msg-size -d 'The largest response message accepted, in bytes (suffixes KiB, MiB and GiB work too)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l compress -d 'Compress request messages. gzip and zstd responses are always accepted' -r -f -a "gzip\t''
zstd\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -s H -l header -d 'A request header, `name: value` (repeatable), sent with the call and with reflection requests. Names are lowercased; values of `-bin` keys are base64. `@FILE` reads `name: value` lines from a file' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l rpc-header -d 'A header for the call only, not for reflection (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l reflect-header -d 'A header for reflection requests only (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l protocol -d 'The wire protocol: `grpc` (HTTP/2), `grpcweb` or `connect` (HTTP/1.1 or HTTP/2). Output and exit codes are the same for all three' -r -f -a "grpc\t''
grpcweb\t''
connect\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l no-reflection -d 'Do not serve the reflection service'
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l greeter -d 'Serve the bundled greeter (and test services) next to the mock'
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l plaintext -d 'Speak plaintext HTTP/2 (h2c), whatever the target looks like'
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l tls -d 'Speak TLS, whatever the target looks like (even on loopback)'
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l insecure -d 'Do not verify the server\'s certificate (a warning says so on stderr)'
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l expand-headers -d 'Expand `${VAR}` in headers from the environment; a variable that is not set is an error'
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -l http2-prior-knowledge -d 'With --protocol grpcweb or connect over plaintext, speak HTTP/2 (h2c) rather than HTTP/1.1. Bidi streams need it (or TLS, where ALPN picks)'
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -s v -l verbose -d 'Print to stderr the request headers (credentials masked), response headers, trailers, status and timings. -vv shows credentials too'
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -s h -l help -d 'Print help'
complete -c grpcx -n "__fish_grpcx_using_subcommand serve" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -s d -l data -d 'The requests, as DATA above' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -s c -l concurrency -d 'Calls in flight at once (with --rate: at most this many)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l connections -d 'HTTP/2 connections the calls are spread over' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -s n -l requests -d 'Stop after N calls (not counting --warmup)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -s z -l duration -d 'Stop after this long, as in 30s, 500ms, 2m (default 10s when -n is not given)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l rate -d 'Open model: start R calls per second, whatever the server\'s pace. Latency counts from when each call was due, so a stalled server shows in it; calls that had to wait for a free slot are counted' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l warmup -d 'Run this long first without counting (as in 2s)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l format -d 'The report: `text` (summary, histogram, statuses), `json` (one object), or `csv` (one row per finished call: start_s, latency_ms, status)' -r -f -a "text\t''
json\t''
csv\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l proto -d 'A .proto file to parse (repeatable), found as protoc finds it: a path inside an -I root is named under that root, a name that is not a path is looked up in each -I root in order, and a file outside every root brings its own directory as a root. A directory loads every .proto under it, recursively, with the directory as an import root' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -s I -l import-path -d 'A directory to resolve imports from (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l protoset -d 'A binary FileDescriptorSet, as `protoc --descriptor_set_out --include_imports` writes it (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l cacert -d 'Trust only the CA certificates in this PEM file (it may hold several) instead of the system roots' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l cert -d 'A client certificate (PEM) for mutual TLS; needs --key' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l key -d 'The private key (PEM) of --cert' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l authority -d 'The :authority to send, and the name the server\'s certificate must be valid for' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l proxy -d 'Send this command through an HTTP CONNECT proxy, `http://[USER:PASS@]HOST:PORT` (loopback targets too). Without it, HTTPS_PROXY, ALL_PROXY and NO_PROXY apply to non-loopback targets' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l connect-timeout -d 'Seconds to wait for the connection (and the TLS handshake)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l max-time -d 'A deadline for the whole command (connect, reflection and call), also sent to the server as grpc-timeout. When it passes, grpcx exits 68 (DeadlineExceeded)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l keepalive -d 'Send an HTTP/2 ping every SECS seconds, to keep long streams alive through proxies and detect a dead peer' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l max-msg-size -d 'The largest response message accepted, in bytes (suffixes KiB, MiB and GiB work too)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l compress -d 'Compress request messages. gzip and zstd responses are always accepted' -r -f -a "gzip\t''
zstd\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -s H -l header -d 'A request header, `name: value` (repeatable), sent with the call and with reflection requests. Names are lowercased; values of `-bin` keys are base64. `@FILE` reads `name: value` lines from a file' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l rpc-header -d 'A header for the call only, not for reflection (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l reflect-header -d 'A header for reflection requests only (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l protocol -d 'The wire protocol: `grpc` (HTTP/2), `grpcweb` or `connect` (HTTP/1.1 or HTTP/2). Output and exit codes are the same for all three' -r -f -a "grpc\t''
grpcweb\t''
connect\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l allow-unknown-fields -d 'Ignore request fields the schema does not know, instead of failing'
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l plaintext -d 'Speak plaintext HTTP/2 (h2c), whatever the target looks like'
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l tls -d 'Speak TLS, whatever the target looks like (even on loopback)'
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l insecure -d 'Do not verify the server\'s certificate (a warning says so on stderr)'
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l expand-headers -d 'Expand `${VAR}` in headers from the environment; a variable that is not set is an error'
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -l http2-prior-knowledge -d 'With --protocol grpcweb or connect over plaintext, speak HTTP/2 (h2c) rather than HTTP/1.1. Bidi streams need it (or TLS, where ALPN picks)'
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -s v -l verbose -d 'Print to stderr the request headers (credentials masked), response headers, trailers, status and timings. -vv shows credentials too'
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -s h -l help -d 'Print help'
complete -c grpcx -n "__fish_grpcx_using_subcommand bench" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand demo" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand demo" -s h -l help -d 'Print help'
complete -c grpcx -n "__fish_grpcx_using_subcommand demo" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l port -d 'The port to serve the page on (0, the default, picks a free one)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l listen -d 'Listen on this address (`IP` or `IP:PORT`) instead of 127.0.0.1. Anyone who can reach it and has the printed URL can make calls as you: a warning says so' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l proto -d 'A .proto file to parse (repeatable), found as protoc finds it: a path inside an -I root is named under that root, a name that is not a path is looked up in each -I root in order, and a file outside every root brings its own directory as a root. A directory loads every .proto under it, recursively, with the directory as an import root' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -s I -l import-path -d 'A directory to resolve imports from (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l protoset -d 'A binary FileDescriptorSet, as `protoc --descriptor_set_out --include_imports` writes it (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l cacert -d 'Trust only the CA certificates in this PEM file (it may hold several) instead of the system roots' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l cert -d 'A client certificate (PEM) for mutual TLS; needs --key' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l key -d 'The private key (PEM) of --cert' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l authority -d 'The :authority to send, and the name the server\'s certificate must be valid for' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l proxy -d 'Send this command through an HTTP CONNECT proxy, `http://[USER:PASS@]HOST:PORT` (loopback targets too). Without it, HTTPS_PROXY, ALL_PROXY and NO_PROXY apply to non-loopback targets' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l connect-timeout -d 'Seconds to wait for the connection (and the TLS handshake)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l max-time -d 'A deadline for the whole command (connect, reflection and call), also sent to the server as grpc-timeout. When it passes, grpcx exits 68 (DeadlineExceeded)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l keepalive -d 'Send an HTTP/2 ping every SECS seconds, to keep long streams alive through proxies and detect a dead peer' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l max-msg-size -d 'The largest response message accepted, in bytes (suffixes KiB, MiB and GiB work too)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l compress -d 'Compress request messages. gzip and zstd responses are always accepted' -r -f -a "gzip\t''
zstd\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -s H -l header -d 'A request header, `name: value` (repeatable), sent with the call and with reflection requests. Names are lowercased; values of `-bin` keys are base64. `@FILE` reads `name: value` lines from a file' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l rpc-header -d 'A header for the call only, not for reflection (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l reflect-header -d 'A header for reflection requests only (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l protocol -d 'The wire protocol: `grpc` (HTTP/2), `grpcweb` or `connect` (HTTP/1.1 or HTTP/2). Output and exit codes are the same for all three' -r -f -a "grpc\t''
grpcweb\t''
connect\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l no-open -d 'Print the URL but do not open a browser (none is opened anyway when there is no display)'
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l plaintext -d 'Speak plaintext HTTP/2 (h2c), whatever the target looks like'
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l tls -d 'Speak TLS, whatever the target looks like (even on loopback)'
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l insecure -d 'Do not verify the server\'s certificate (a warning says so on stderr)'
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l expand-headers -d 'Expand `${VAR}` in headers from the environment; a variable that is not set is an error'
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -l http2-prior-knowledge -d 'With --protocol grpcweb or connect over plaintext, speak HTTP/2 (h2c) rather than HTTP/1.1. Bidi streams need it (or TLS, where ALPN picks)'
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -s v -l verbose -d 'Print to stderr the request headers (credentials masked), response headers, trailers, status and timings. -vv shows credentials too'
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -s h -l help -d 'Print help'
complete -c grpcx -n "__fish_grpcx_using_subcommand ui" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand completions" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand completions" -s h -l help -d 'Print help'
complete -c grpcx -n "__fish_grpcx_using_subcommand completions" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand cache; and not __fish_seen_subcommand_from clear help" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand cache; and not __fish_seen_subcommand_from clear help" -s h -l help -d 'Print help'
complete -c grpcx -n "__fish_grpcx_using_subcommand cache; and not __fish_seen_subcommand_from clear help" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand cache; and not __fish_seen_subcommand_from clear help" -f -a "clear" -d 'Remove every cached entry'
complete -c grpcx -n "__fish_grpcx_using_subcommand cache; and not __fish_seen_subcommand_from clear help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c grpcx -n "__fish_grpcx_using_subcommand cache; and __fish_seen_subcommand_from clear" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand cache; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help'
complete -c grpcx -n "__fish_grpcx_using_subcommand cache; and __fish_seen_subcommand_from clear" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Remove every cached entry'
complete -c grpcx -n "__fish_grpcx_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l type -d 'The message type, by full name, as in `shop.v1.Order`' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l from -d 'The form of the input on stdin' -r -f -a "binary\t'The wire format (`.binpb`)'
json\t'protobuf\'s JSON mapping'
text\t'protobuf\'s text format (`.txtpb`)'"
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l to -d 'The form of the output on stdout [default: json from binary, binary from json or text]' -r -f -a "binary\t'The wire format (`.binpb`)'
json\t'protobuf\'s JSON mapping'
text\t'protobuf\'s text format (`.txtpb`)'"
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l color -d 'Colour JSON output: `auto` colours it on a terminal unless NO_COLOR is set' -r -f -a "auto\t''
always\t''
never\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l proto -d 'A .proto file to parse (repeatable), found as protoc finds it: a path inside an -I root is named under that root, a name that is not a path is looked up in each -I root in order, and a file outside every root brings its own directory as a root. A directory loads every .proto under it, recursively, with the directory as an import root' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -s I -l import-path -d 'A directory to resolve imports from (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l protoset -d 'A binary FileDescriptorSet, as `protoc --descriptor_set_out --include_imports` writes it (repeatable)' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l cacert -d 'Trust only the CA certificates in this PEM file (it may hold several) instead of the system roots' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l cert -d 'A client certificate (PEM) for mutual TLS; needs --key' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l key -d 'The private key (PEM) of --cert' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l authority -d 'The :authority to send, and the name the server\'s certificate must be valid for' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l proxy -d 'Send this command through an HTTP CONNECT proxy, `http://[USER:PASS@]HOST:PORT` (loopback targets too). Without it, HTTPS_PROXY, ALL_PROXY and NO_PROXY apply to non-loopback targets' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l connect-timeout -d 'Seconds to wait for the connection (and the TLS handshake)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l max-time -d 'A deadline for the whole command (connect, reflection and call), also sent to the server as grpc-timeout. When it passes, grpcx exits 68 (DeadlineExceeded)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l keepalive -d 'Send an HTTP/2 ping every SECS seconds, to keep long streams alive through proxies and detect a dead peer' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l max-msg-size -d 'The largest response message accepted, in bytes (suffixes KiB, MiB and GiB work too)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l compress -d 'Compress request messages. gzip and zstd responses are always accepted' -r -f -a "gzip\t''
zstd\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -s H -l header -d 'A request header, `name: value` (repeatable), sent with the call and with reflection requests. Names are lowercased; values of `-bin` keys are base64. `@FILE` reads `name: value` lines from a file' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l rpc-header -d 'A header for the call only, not for reflection (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l reflect-header -d 'A header for reflection requests only (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l protocol -d 'The wire protocol: `grpc` (HTTP/2), `grpcweb` or `connect` (HTTP/1.1 or HTTP/2). Output and exit codes are the same for all three' -r -f -a "grpc\t''
grpcweb\t''
connect\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l delimited -d 'Binary messages come and go as length-delimited streams (each message led by its length as a varint, as `writeDelimitedTo` writes them). With --from binary, every message of the stream is converted; JSON and text input may hold several messages (text ones separated by 0x1E), written as one stream with --to binary. JSON and text output is one message per line when piped'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l allow-unknown-fields -d 'Ignore JSON fields the schema does not know, instead of failing'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l emit-defaults -d 'Print fields that hold their default value (0, "", false, empty)'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l proto-names -d 'Print the .proto field names (snake_case) instead of lowerCamelCase'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l int64-as-number -d 'Print 64-bit integers as JSON numbers instead of strings'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l enum-as-number -d 'Print enum values as numbers instead of names'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l plaintext -d 'Speak plaintext HTTP/2 (h2c), whatever the target looks like'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l tls -d 'Speak TLS, whatever the target looks like (even on loopback)'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l insecure -d 'Do not verify the server\'s certificate (a warning says so on stderr)'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l expand-headers -d 'Expand `${VAR}` in headers from the environment; a variable that is not set is an error'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -l http2-prior-knowledge -d 'With --protocol grpcweb or connect over plaintext, speak HTTP/2 (h2c) rather than HTTP/1.1. Bidi streams need it (or TLS, where ALPN picks)'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -s v -l verbose -d 'Print to stderr the request headers (credentials masked), response headers, trailers, status and timings. -vv shows credentials too'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c grpcx -n "__fish_grpcx_using_subcommand convert" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l cacert -d 'Trust only the CA certificates in this PEM file (it may hold several) instead of the system roots' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l cert -d 'A client certificate (PEM) for mutual TLS; needs --key' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l key -d 'The private key (PEM) of --cert' -r -F
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l authority -d 'The :authority to send, and the name the server\'s certificate must be valid for' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l proxy -d 'Send this command through an HTTP CONNECT proxy, `http://[USER:PASS@]HOST:PORT` (loopback targets too). Without it, HTTPS_PROXY, ALL_PROXY and NO_PROXY apply to non-loopback targets' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l connect-timeout -d 'Seconds to wait for the connection (and the TLS handshake)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l max-time -d 'A deadline for the whole command (connect, reflection and call), also sent to the server as grpc-timeout. When it passes, grpcx exits 68 (DeadlineExceeded)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l keepalive -d 'Send an HTTP/2 ping every SECS seconds, to keep long streams alive through proxies and detect a dead peer' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l max-msg-size -d 'The largest response message accepted, in bytes (suffixes KiB, MiB and GiB work too)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l compress -d 'Compress request messages. gzip and zstd responses are always accepted' -r -f -a "gzip\t''
zstd\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -s H -l header -d 'A request header, `name: value` (repeatable), sent with the call and with reflection requests. Names are lowercased; values of `-bin` keys are base64. `@FILE` reads `name: value` lines from a file' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l rpc-header -d 'A header for the call only, not for reflection (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l reflect-header -d 'A header for reflection requests only (as -H)' -r
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l protocol -d 'The wire protocol: `grpc` (HTTP/2), `grpcweb` or `connect` (HTTP/1.1 or HTTP/2). Output and exit codes are the same for all three' -r -f -a "grpc\t''
grpcweb\t''
connect\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l error-format -d 'How errors are printed on stderr: `json` prints a gRPC status as one JSON object with its details decoded (the exit code is unchanged)' -r -f -a "text\t''
json\t''"
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l watch -d 'Follow Health/Watch: one line per change as it comes, all services at once, until the server ends the streams (or Ctrl-C)'
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l plaintext -d 'Speak plaintext HTTP/2 (h2c), whatever the target looks like'
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l tls -d 'Speak TLS, whatever the target looks like (even on loopback)'
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l insecure -d 'Do not verify the server\'s certificate (a warning says so on stderr)'
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l expand-headers -d 'Expand `${VAR}` in headers from the environment; a variable that is not set is an error'
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -l http2-prior-knowledge -d 'With --protocol grpcweb or connect over plaintext, speak HTTP/2 (h2c) rather than HTTP/1.1. Bidi streams need it (or TLS, where ALPN picks)'
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -s v -l verbose -d 'Print to stderr the request headers (credentials masked), response headers, trailers, status and timings. -vv shows credentials too'
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -s h -l help -d 'Print help'
complete -c grpcx -n "__fish_grpcx_using_subcommand health" -s V -l version -d 'Print version'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "call" -d 'Call a method: unary, server streaming, client streaming or bidi'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "list" -d 'List the services of a server or schema, or the methods of one service'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "describe" -d 'Show a service, method, message, enum or field as proto source, or a JSON request template'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "shell" -d 'An interactive session on one connection that knows the schema: list, describe, call (asking for each field), headers and settings kept between calls, Tab completion and history. With stdin from a pipe it runs the commands line by line, for CI'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "serve" -d 'Run a server: the bundled greeter, or a mock of any schema answered from stub files (--stubs), with a call log (--log), or a recording proxy to a real server (--record DIR --upstream TARGET). Reflection and health are always on'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "bench" -d 'Load-test a method: many calls over a pool of connections, closed (-c in flight) or open (--rate per second), with a latency report'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "demo" -d 'A one-command tour: starts the bundled server and calls it'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "ui" -d 'A web page for the schema and the calls, served by grpcx on loopback: pick a method, fill a form, watch the responses arrive. Without a TARGET (and without --proto/--protoset) it starts the bundled server'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "completions" -d 'Print a shell completion script. Bash, zsh and fish also complete the services and methods of the server on the line (by reflection, or from --proto/--protoset): `source <(grpcx completions bash)`'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "cache" -d 'Manage the descriptor cache that calls by reflection keep ($XDG_CACHE_HOME/grpcx, else ~/.cache/grpcx)'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "convert" -d 'Convert a message between binary, JSON and text format, stdin to stdout (as `buf convert` and `protoc --encode/--decode` do)'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "health" -d 'Check the health of a server or of some of its services (grpc.health.v1, as grpc_health_probe does), or follow it with --watch'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and not __fish_seen_subcommand_from call list describe shell serve bench demo ui completions cache convert health help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c grpcx -n "__fish_grpcx_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "clear" -d 'Remove every cached entry'

# Services and methods from the server (reflection) or the --proto/--protoset
# files on the line, by `grpcx __complete`; everything else from the rules above.
function __fish_grpcx_schema
    set -l words (commandline -opc)
    set -g __fish_grpcx_schema_candidates ($words[1] __complete --line (commandline -cp) 2>/dev/null)
end

complete -c grpcx -n __fish_grpcx_schema -f -a '$__fish_grpcx_schema_candidates'
