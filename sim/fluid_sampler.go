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
	now                    time.Duration
	d                      demand
	cl                     uint8
	n                      int64
	status                 int
	code                   string
	errc                   outcome.ErrorClass
	q                      Queue
	fluid                  bool
	w0, w1, dbWait, dbMean float64
}

// sampleChunk is how many jobs the ticks gather before they hand them over: a hand-over wakes
// the sampler, and a few dozen ticks' worth keep that cost out of the profile. A chunk's slice
// holds twice as many, as the tick that crosses the mark adds its own.
const sampleChunk = 1024

type sampler struct {
	jobs       []sampleJob
	work, back chan []sampleJob
	done       chan struct{}
}

// startSampler starts the goroutine that draws the samples of the jobs handed over.
func (f *fluidSim) startSampler() {
	s := &sampler{jobs: make([]sampleJob, 0, 2*sampleChunk), work: make(chan []sampleJob, 4),
		back: make(chan []sampleJob, 4), done: make(chan struct{})}
	f.smp = s
	go func() {
		defer close(s.done)
		last := time.Duration(-1)
		for jobs := range s.work {
			for i := range jobs {
				jb := &jobs[i]
				if jb.now != last {
					// The tick's answers land in windows from its own on: the earlier ones are complete.
					last = jb.now
					f.batches.flushBefore(int64(jb.now / f.batches.win))
				}
				st := &f.js[jb.d.j].steps[jb.d.step]
				f.record(jb.now, &jb.d, st, jb.cl, jb.n, jb.status, jb.code, jb.errc, jb.q, jb.fluid, jb.w0, jb.w1, jb.dbWait, jb.dbMean)
			}
			clear(jobs) // the codes' strings
			select {
			case s.back <- jobs[:0]:
			default:
			}
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
	s.jobs = append(s.jobs, sampleJob{now: now, d: *d, cl: cl, n: n, status: status, code: code, errc: errc, q: q, fluid: fluid,
		w0: w0, w1: w1, dbWait: dbWait, dbMean: dbMean})
}

// handOver gives the jobs gathered so far to the sampler once there are enough of them.
func (s *sampler) handOver(all bool) {
	if len(s.jobs) == 0 || !all && len(s.jobs) < sampleChunk {
		return
	}
	s.work <- s.jobs
	select {
	case s.jobs = <-s.back:
	default:
		s.jobs = make([]sampleJob, 0, 2*sampleChunk)
	}
}

// finish hands over the last jobs and waits until every sample is drawn.
func (s *sampler) finish() {
	s.handOver(true)
	close(s.work)
	<-s.done
}
