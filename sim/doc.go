// Package sim is the capacity simulator: it plays a scenario in virtual time against a model of
// the service (replicas × workers behind a load balancer, a cache, sharded database, queue limits,
// timeouts, shedding, a circuit breaker, the inventory, autoscalers) and predicts what the night
// looks like.
//
// Data enters as a *scenario.Scenario (its curve, journeys, SKUs and Model) and leaves through a
// result.Recorder, so the result is the same *result.Run (Summary mode "sim") that a live run
// produces. Two modes share one service model: the per-request discrete-event mode (an event
// Kernel, exact, for small scale and as the reference) and the fluid mode (time-stepped, with
// Erlang C waiting-time formulas and the backlog carried from tick to tick) for full scale.
// Autoscalers (HPA, KPA, fixed, scheduled) are pure decision functions called by both modes.
package sim
