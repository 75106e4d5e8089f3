// Command avatarproxy-bench measures avatarproxy side by side with the
// references a deployment would otherwise use, in one run on one machine:
// nginx serving the same bytes as static files, nginx proxy_cache in front
// of imgproxy (when an imgproxy binary is given), libvips' own
// vipsthumbnail, and a bare net/http server writing the proxy's own hit
// responses (the floor of a Go server; see bare.go). Servers run pinned to one core and the load generators to
// another; rounds are interleaved and each figure is the median of the
// rounds, printed with the reference's and their ratio.
//
//	avatarproxy-bench -proxy bin/avatarproxy [-imgproxy PATH] [-rounds 5]
//
// It binds only 127.0.0.1 and stops by itself.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"
)

type options struct {
	proxyBin    string
	imgproxyBin string
	rounds      int
	duration    time.Duration
	users       int
	mixRequests int
	seed        int64
	serverCPU   string
	loadCPU     string
	keep        bool
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == bareCommand {
		log.Fatal(serveBare(os.Args[2], os.Args[3]))
	}
	var o options
	flag.StringVar(&o.proxyBin, "proxy", "bin/avatarproxy", "avatarproxy binary to measure")
	flag.StringVar(&o.imgproxyBin, "imgproxy", os.Getenv("IMGPROXY_BIN"), "imgproxy binary for the nginx proxy_cache reference (optional)")
	flag.IntVar(&o.rounds, "rounds", 5, "interleaved rounds per figure; the median is printed")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each wrk run")
	flag.IntVar(&o.users, "users", 2000, "distinct users in the many-keys and mix runs")
	flag.IntVar(&o.mixRequests, "mix", 100000, "requests in the realistic mix")
	flag.Int64Var(&o.seed, "seed", 1, "seed of the generated URL lists")
	flag.StringVar(&o.serverCPU, "server-cpu", "0", "CPU list the servers are pinned to")
	flag.StringVar(&o.loadCPU, "load-cpu", "1", "CPU list the load generators are pinned to")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("bench: ")

	dir, err := os.MkdirTemp("", "avatarproxy-bench-")
	if err != nil {
		log.Fatal(err)
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	} else {
		log.Printf("working directory: %s", dir)
	}
	if err := run(o, dir); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(o options, dir string) error {
	if err := pinSelf(o.loadCPU); err != nil {
		return err
	}
	set, err := prepareImages(filepath.Join(dir, "origin"), o.users)
	if err != nil {
		return err
	}
	log.Printf("%d source images, %d users", len(set.images), o.users)

	env, err := startServers(o, dir, set)
	if err != nil {
		return err
	}
	defer env.stop()

	var report table
	if err := benchHits(o, env, set, &report); err != nil {
		return err
	}
	if err := benchCold(o, env, set, &report); err != nil {
		return err
	}
	if err := benchMix(o, env, set, &report); err != nil {
		return err
	}
	if err := benchBurst(o, env, set, &report); err != nil {
		return err
	}
	if err := benchHerd(env, set, &report); err != nil {
		return err
	}
	report.print(os.Stdout)
	if env.imgproxy == nil {
		fmt.Println("\nimgproxy: not measured (pass -imgproxy or IMGPROXY_BIN); the Go module proxy does not serve it")
	}
	return nil
}
