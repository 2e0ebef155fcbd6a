//go:build race

package validate

// raceEnabled: the race detector changes what allocates (sync.Pool drops
// items, instrumented code), so exact allocation counts are not checked.
const raceEnabled = true
