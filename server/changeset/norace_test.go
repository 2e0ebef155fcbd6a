//go:build !race

package changeset_test

const raceEnabled = false
