// The Go peer: every workload of benches/peers/README.md, defined there.
//
// Build: go build -o target/bream-peer-go .
// Run:   target/bream-peer-go spawn 2 1000000 0
//
// A "process" is a goroutine; its mailbox is a channel. Prints one JSON line
// (the fields of README.md) and exits.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

type report struct {
	ns, n, ops int64
	result     *int64
	bytes      *float64
	extra      []string // `"key":value` pairs
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: bream-peer-go <workload> <workers> <a> <b>")
		os.Exit(2)
	}
	workload := os.Args[1]
	workers, _ := strconv.Atoi(os.Args[2])
	a, _ := strconv.ParseInt(os.Args[3], 10, 64)
	b, _ := strconv.ParseInt(os.Args[4], 10, 64)
	runtime.GOMAXPROCS(workers)
	var r report
	switch workload {
	case "spawn":
		r = spawnW(a)
	case "ring":
		r = ringW(a, b)
	case "pingpong":
		r = pingpongW(a)
	case "skynet":
		r = skynetW(a)
	case "fanin":
		r = faninW(a, b)
	case "selective":
		r = selectiveW(a, b)
	case "call":
		r = callW(a)
	case "timers":
		r = timersW(a, b)
	case "backpressure":
		r = backpressureW(a, b)
	case "idle":
		r = idleW(a)
	default:
		fmt.Fprintf(os.Stderr, "bream-peer-go: unknown workload %q\n", workload)
		os.Exit(2)
	}
	emit(workload, workers, r)
}

// ---- measurement ----------------------------------------------------------

// procStatus returns VmRSS + VmPTE and VmHWM, in bytes, from /proc/self/status.
func procStatus() (int64, int64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	kb := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			kb[k] = n * 1024
		}
	}
	return kb["VmRSS"] + kb["VmPTE"], kb["VmHWM"]
}

func mem() int64 { m, _ := procStatus(); return m }

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }
func jsonI(v *int64) string {
	if v == nil {
		return "null"
	}
	return strconv.FormatInt(*v, 10)
}
func jsonF(v *float64) string {
	if v == nil {
		return "null"
	}
	return strconv.FormatFloat(*v, 'f', 3, 64)
}

func emit(workload string, workers int, r report) {
	_, hwm := procStatus()
	fields := []string{
		`"impl":"go"`, fmt.Sprintf(`"workload":%q`, workload),
		fmt.Sprintf(`"workers":%d`, workers), fmt.Sprintf(`"n":%d`, r.n),
		fmt.Sprintf(`"ops":%d`, r.ops), `"runs":1`,
		fmt.Sprintf(`"median_ns":%d`, r.ns), fmt.Sprintf(`"min_ns":%d`, r.ns),
		fmt.Sprintf(`"max_ns":%d`, r.ns),
		`"per_op_ns":` + jsonF(f64(float64(r.ns)/float64(r.ops))),
		`"bytes_per_process":` + jsonF(r.bytes), `"result":` + jsonI(r.result),
		fmt.Sprintf(`"peak_rss_bytes":%d`, hwm),
	}
	fields = append(fields, r.extra...)
	fmt.Println("{" + strings.Join(fields, ",") + "}")
}

// arrive increments a countdown; the goroutine that brings it to n tells main.
func arrive(c *int64, n int64, main chan struct{}) {
	if atomic.AddInt64(c, 1) == n {
		main <- struct{}{}
	}
}

// ---- workloads --------------------------------------------------------------

func spawnW(n int64) report {
	var ready, done int64
	allReady, allDone := make(chan struct{}, 1), make(chan struct{}, 1)
	base := mem()
	t0 := time.Now()
	boxes := make([]chan uint64, n)
	for i := range boxes {
		box := make(chan uint64, 1)
		boxes[i] = box
		go func() {
			arrive(&ready, n, allReady)
			<-box
			arrive(&done, n, allDone)
		}()
	}
	<-allReady
	peak := mem()
	for i, box := range boxes {
		box <- uint64(i)
	}
	<-allDone
	ns := time.Since(t0).Nanoseconds()
	return report{ns: ns, n: n, ops: n, result: i64(atomic.LoadInt64(&done)),
		bytes: f64(float64(peak-base) / float64(n))}
}

func ringW(n, laps int64) report {
	total := n * laps
	main := make(chan uint64, 1)
	boxes := make([]chan uint64, n)
	for i := range boxes {
		boxes[i] = make(chan uint64, 1)
	}
	for i := int64(0); i < n; i++ {
		in, next := boxes[i], boxes[(i+1)%n]
		go func() {
			for k := int64(0); k < laps; k++ {
				t := <-in
				if t+1 == uint64(total) {
					main <- t + 1
				} else {
					next <- t + 1
				}
			}
		}()
	}
	t0 := time.Now()
	boxes[0] <- 0
	hops := <-main
	ns := time.Since(t0).Nanoseconds()
	return report{ns: ns, n: n, ops: total, result: i64(int64(hops))}
}

func pingpongW(n int64) report {
	t0 := time.Now()
	ping, pong := make(chan uint64), make(chan uint64)
	go func() {
		for i := range ping {
			pong <- i
		}
	}()
	var ok int64
	for i := uint64(0); i < uint64(n); i++ {
		ping <- i
		if <-pong == i {
			ok++
		}
	}
	close(ping)
	ns := time.Since(t0).Nanoseconds()
	return report{ns: ns, n: n, ops: n, result: i64(ok)}
}

func skynet(parent chan<- uint64, num, size uint64) {
	if size == 1 {
		parent <- num
		return
	}
	box := make(chan uint64, 10)
	sub := size / 10
	for i := uint64(0); i < 10; i++ {
		go skynet(box, num+i*sub, sub)
	}
	var sum uint64
	for i := 0; i < 10; i++ {
		sum += <-box
	}
	parent <- sum
}

func skynetW(n int64) report {
	t0 := time.Now()
	box := make(chan uint64, 1)
	go skynet(box, 0, uint64(n))
	sum := <-box
	ns := time.Since(t0).Nanoseconds()
	if sum != uint64(n*(n-1)/2) {
		fmt.Fprintf(os.Stderr, "skynet: wrong sum %d\n", sum)
		os.Exit(1)
	}
	return report{ns: ns, n: n, ops: n, result: i64(int64(sum))}
}

func faninW(senders, per int64) report {
	t0 := time.Now()
	box := make(chan uint64, 1024)
	for s := int64(0); s < senders; s++ {
		go func() {
			for i := uint64(1); i <= uint64(per); i++ {
				box <- i
			}
		}()
	}
	var count, sum uint64
	for count < uint64(senders*per) {
		sum += <-box
		count++
	}
	ns := time.Since(t0).Nanoseconds()
	if sum != uint64(senders*per*(per+1)/2) {
		fmt.Fprintf(os.Stderr, "fanin: wrong sum %d\n", sum)
		os.Exit(1)
	}
	return report{ns: ns, n: senders * per, ops: senders * per, result: i64(int64(count))}
}

// slow is backpressure's receiver work per message (README.md): 64 rounds
// of a 64-bit LCG.
func slow(x uint64) uint64 {
	for i := 0; i < 64; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func backpressureW(senders, per int64) report {
	t0 := time.Now()
	box := make(chan uint64, 1024)
	for s := int64(0); s < senders; s++ {
		go func() {
			for i := uint64(1); i <= uint64(per); i++ {
				box <- i // blocks while the channel is full
			}
		}()
	}
	var count, sum, acc uint64
	for count < uint64(senders*per) {
		v := <-box
		acc ^= slow(v)
		sum += v
		count++
	}
	ns := time.Since(t0).Nanoseconds()
	if sum != uint64(senders*per*(per+1)/2) || acc == 42 {
		fmt.Fprintf(os.Stderr, "backpressure: wrong sum %d\n", sum)
		os.Exit(1)
	}
	return report{ns: ns, n: senders * per, ops: senders * per, result: i64(int64(count))}
}

type request struct {
	i     uint64
	reply chan uint64
}

func echo(box chan request) {
	for r := range box {
		r.reply <- r.i + 1
	}
}

func selRounds(echoBox chan request, rounds int64) int64 {
	var ok int64
	for i := uint64(0); i < uint64(rounds); i++ {
		reply := make(chan uint64, 1)
		echoBox <- request{i, reply}
		if <-reply == i+1 {
			ok++
		}
	}
	return ok
}

func selectiveW(depth, rounds int64) report {
	echoBox := make(chan request)
	go echo(echoBox)
	inbox := make(chan uint64, depth)
	for k := uint64(1); k <= uint64(depth); k++ {
		inbox <- k
	}
	t0 := time.Now()
	ok := selRounds(echoBox, rounds)
	deep := time.Since(t0).Nanoseconds()
	for k := uint64(1); k <= uint64(depth); k++ {
		if <-inbox != k {
			fmt.Fprintln(os.Stderr, "selective: backlog out of order")
			os.Exit(1)
		}
	}
	t1 := time.Now()
	ok2 := selRounds(echoBox, rounds)
	empty := time.Since(t1).Nanoseconds()
	close(echoBox)
	if ok2 != rounds {
		fmt.Fprintln(os.Stderr, "selective: wrong reply in the empty phase")
		os.Exit(1)
	}
	return report{ns: deep, n: depth, ops: rounds, result: i64(ok),
		extra: []string{`"empty_per_op_ns":` + jsonF(f64(float64(empty)/float64(rounds)))}}
}

func callW(n int64) report {
	server := make(chan chan uint64)
	go func() {
		var count uint64
		for reply := range server {
			count++
			reply <- count
		}
	}()
	t0 := time.Now()
	var last uint64
	for i := int64(0); i < n; i++ {
		reply := make(chan uint64, 1)
		server <- reply
		last = <-reply
	}
	ns := time.Since(t0).Nanoseconds()
	close(server)
	return report{ns: ns, n: n, ops: n, result: i64(int64(last))}
}

func timersW(n, timeoutMs int64) report {
	var ready, done int64
	allReady, allDone := make(chan struct{}, 1), make(chan struct{}, 1)
	timeout := time.Duration(timeoutMs) * time.Millisecond
	base := mem()
	t0 := time.Now()
	for i := int64(0); i < n; i++ {
		go func() {
			box := make(chan uint64, 1)
			t := time.NewTimer(timeout)
			arrive(&ready, n, allReady)
			select {
			case <-box:
				t.Stop()
			case <-t.C:
			}
			arrive(&done, n, allDone)
		}()
	}
	<-allReady
	tReady := time.Now()
	alive := n - atomic.LoadInt64(&done)
	peak := mem()
	<-allDone
	tDone := time.Now()
	late := tDone.Sub(tReady).Nanoseconds() - timeout.Nanoseconds()
	return report{ns: tDone.Sub(t0).Nanoseconds(), n: n, ops: n,
		result: i64(atomic.LoadInt64(&done)), bytes: f64(float64(peak-base) / float64(n)),
		extra: []string{fmt.Sprintf(`"alive_at_sample":%d`, alive), fmt.Sprintf(`"late_ns":%d`, late)}}
}

// idleW: n goroutines blocked in a receive on their own channel; a ping is
// a reply channel, nil means "wake and return".
func idleW(n int64) report {
	var ready, done int64
	allReady, allDone := make(chan struct{}, 1), make(chan struct{}, 1)
	base := mem()
	boxes := make([]chan chan struct{}, n)
	for i := range boxes {
		box := make(chan chan struct{}, 1)
		boxes[i] = box
		go func() {
			arrive(&ready, n, allReady)
			for reply := range box {
				if reply == nil {
					break
				}
				reply <- struct{}{}
			}
			arrive(&done, n, allDone)
		}()
	}
	<-allReady
	idle := mem()
	k := n
	if k > 1000 {
		k = 1000
	}
	pong := make(chan struct{})
	rtts := make([]int64, k)
	for i := int64(0); i < k; i++ {
		t := time.Now()
		boxes[i*n/k] <- pong
		<-pong
		rtts[i] = time.Since(t).Nanoseconds()
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	t0 := time.Now()
	for _, box := range boxes {
		box <- nil
	}
	<-allDone
	ns := time.Since(t0).Nanoseconds()
	return report{ns: ns, n: n, ops: n, result: i64(atomic.LoadInt64(&done)),
		bytes: f64(float64(idle-base) / float64(n)),
		extra: []string{fmt.Sprintf(`"wake_rtt_ns":%d`, rtts[(k-1)/2])}}
}
