// validatord: the candidate of the cutover demo, the Go rewrite of the
// gateway's validator, session and evidence API.
//
//	validatord [-listen ADDR:PORT] [-port-file FILE] [-trace-header NAME] [-fixed]
//
// Listens on ADDR:PORT [127.0.0.1:0]; with port 0 the kernel picks a free
// port.  The port is written to FILE (whole, by rename) once listening.
// -fixed turns on the wire-format fixes: errors as the tagged enum the
// gateway sends, line_offset kept when 0, a session id on every row.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

var traceHeader = "X-Trace-Id"

func main() {
	log.SetFlags(0)
	log.SetPrefix("validatord: ")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	portFile := flag.String("port-file", "", "write the port to this file once listening")
	flag.StringVar(&traceHeader, "trace-header", traceHeader, "the trace id header")
	flag.BoolVar(&fixes, "fixed", false, "apply the wire-format fixes")
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Printf("cannot listen on %s: %v", *listen, err)
		os.Exit(3)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if *portFile != "" {
		tmp := *portFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", port)), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(tmp, *portFile); err != nil {
			log.Fatal(err)
		}
	}
	mode := "as first shipped"
	if fixes {
		mode = "with the fixes"
	}
	log.Printf("listening on %s (%s)", ln.Addr(), mode)
	srv := &http.Server{
		Handler:           tracing(http.HandlerFunc(api)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	log.Fatal(srv.Serve(ln))
}
