//go:build race

package telemetry

// raceEnabled: the race detector changes what allocates (sync.Pool drops
// items, instrumented code), so allocation counts are not checked.
const raceEnabled = true
