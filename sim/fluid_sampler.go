package sim

import (
	"time"

	"github.com/flashload/flashload/outcome"
)

// The fluid mode draws its latency samples (record) on a goroutine of their own: a tick's
// queueing, inventory and sessions depend on the ticks before it, its samples on nothing but
// the tick's own figures, so the ticks run ahead while the samples of earlier ticks are drawn.
// The sampler owns the random stream and the open batches, and takes the jobs in the ticks'
// order, so a seed gives the same run as drawing them inline. A run that watches gates
// (failFast) draws inline: it reads the samples' figures at every tick.

// sampleJob is one class's answers of a tick, with what record needs to draw their latencies.
type sampleJob struct {
	now                      time.Duration
	flow, j, step, att, kind int
	cl                       uint8
	fluid                    bool
	n                        int64
	status                   int
	code                     string
	errc                     outcome.ErrorClass
	q                        Queue
	w0, w1, dbWait, dbMean   float64
}

// sampleChunk is how many jobs the ticks gather before they hand them over: a hand-over wakes
// the sampler, and a few dozen ticks' worth keep that cost out of the profile. A chunk's slice
// holds twice as many, as the tick that crosses the mark adds its own. sampleChunks chunks
// circulate: ticks that are that far ahead wait for the sampler.
const (
	sampleChunk  = 1024
	sampleChunks = 4
)

type sampler struct {
	jobs       []sampleJob
	work, free chan []sampleJob
	done       chan struct{}
}

// startSampler starts the goroutine that draws the samples of the jobs handed over.
func (f *fluidSim) startSampler() {
	s := &sampler{jobs: make([]sampleJob, 0, 2*sampleChunk), work: make(chan []sampleJob, sampleChunks),
		free: make(chan []sampleJob, sampleChunks), done: make(chan struct{})}
	for range sampleChunks - 1 {
		s.free <- make([]sampleJob, 0, 2*sampleChunk)
	}
	f.smp = s
	go func() {
		defer close(s.done)
		last := time.Duration(-1)
		var d demand
		for jobs := range s.work {
			for i := range jobs {
				jb := &jobs[i]
				if jb.now != last {
					// The tick's answers land in windows from its own on: the earlier ones are complete.
					last = jb.now
					f.batches.flushBefore(int64(jb.now / f.batches.win))
				}
				d.flow, d.j, d.step, d.attempt, d.kind = jb.flow, jb.j, jb.step, jb.att, jb.kind
				st := &f.js[jb.j].steps[jb.step]
				f.record(jb.now, &d, st, jb.cl, jb.n, jb.status, jb.code, jb.errc, jb.q, jb.fluid, jb.w0, jb.w1, jb.dbWait, jb.dbMean)
			}
			clear(jobs) // the codes' strings
			s.free <- jobs[:0]
		}
	}()
}

// sample records n answers of one class: at once, or by the sampler.
func (f *fluidSim) sample(now time.Duration, d *demand, st *jstep, cl uint8, n int64, status int, code string, errc outcome.ErrorClass,
	q Queue, fluid bool, w0, w1, dbWait, dbMean float64) {
	s := f.smp
	if s == nil {
		f.record(now, d, st, cl, n, status, code, errc, q, fluid, w0, w1, dbWait, dbMean)
		return
	}
	if n <= 0 {
		return
	}
	s.jobs = append(s.jobs, sampleJob{now: now, flow: d.flow, j: d.j, step: d.step, att: d.attempt, kind: d.kind, cl: cl,
		fluid: fluid, n: n, status: status, code: code, errc: errc, q: q, w0: w0, w1: w1, dbWait: dbWait, dbMean: dbMean})
}

// handOver gives the jobs gathered so far to the sampler once there are enough of them.
func (s *sampler) handOver(all bool) {
	if len(s.jobs) == 0 || !all && len(s.jobs) < sampleChunk {
		return
	}
	s.work <- s.jobs
	s.jobs = <-s.free
}

// finish hands over the last jobs and waits until every sample is drawn.
func (s *sampler) finish() {
	s.handOver(true)
	close(s.work)
	<-s.done
}
