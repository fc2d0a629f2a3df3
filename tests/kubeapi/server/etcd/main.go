// Command etcd runs a single-member etcd, from go.etcd.io/etcd/server/v3
// embed, for the real API server check: loopback only, no TLS, no fsync
// (its data lives in a temporary directory for one test run). It prints
// "ready" on stdout once it serves clients, and runs until it is killed
// or the server fails.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dir := flag.String("data-dir", "", "data directory (required)")
	clientPort := flag.Int("client-port", 0, "client port on 127.0.0.1 (required)")
	peerPort := flag.Int("peer-port", 0, "peer port on 127.0.0.1 (required)")
	flag.Parse()
	if *dir == "" || *clientPort == 0 || *peerPort == 0 {
		flag.Usage()
		os.Exit(2)
	}

	// Only 127.0.0.1, never a wildcard address: this is a test fixture.
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", *clientPort)}
	peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", *peerPort)}

	cfg := embed.NewConfig()
	cfg.Dir = *dir
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("etcd: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
		fmt.Println("ready")
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		log.Fatal("etcd: not ready after 60s")
	}
	// The test kills this process (SIGKILL) when it is done: a graceful
	// close would wait on the API server's open watches for minutes.
	log.Fatalf("etcd: %v", <-e.Err())
}
