// Command upstream is the benchmark's stand-in app: it answers every
// request with the same 2 KB HTML page (reading and discarding any body).
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	size := flag.Int("size", 2048, "response body size in bytes")
	flag.Parse()
	page := []byte("<!doctype html><title>bench</title><p>" + strings.Repeat("Parapet benchmark page. ", *size/24+1))[:*size]
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stdout, ln.Addr().String())
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})))
}
