//go:build race

package changeset_test

// raceEnabled: the race detector allocates on its own (and sync.Pool drops
// what it holds at random), so allocation counts are not checked under it.
const raceEnabled = true
