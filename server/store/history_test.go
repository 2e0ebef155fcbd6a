package store

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
)

// commitsBack lists the ids CommitsBack gives from to, stopping after
// limit (0: all).
func commitsBack(t *testing.T, s *Bolt, to uint64, limit int) []uint64 {
	t.Helper()
	ids := []uint64{}
	err := s.CommitsBack(context.Background(), to, func(c *Commit) (bool, error) {
		ids = append(ids, c.ID)
		return limit == 0 || len(ids) < limit, nil
	})
	if err != nil {
		t.Fatalf("CommitsBack(%d): %v", to, err)
	}
	return ids
}

func TestCommitsBack(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "data.db"), BoltOptions{Retention: 5})
	if ids := commitsBack(t, s, 0, 0); len(ids) != 0 {
		t.Fatalf("empty log: %v", ids)
	}
	for id := uint64(1); id <= 7; id++ {
		mustApply(t, s, &Commit{ID: id, Changes: []RowChange{put(fmt.Sprintf("/r%d", id), "v")}})
	}
	for _, tc := range []struct {
		to    uint64
		limit int
		want  []uint64
	}{
		{0, 0, []uint64{7, 6, 5, 4, 3}}, // newest first; 1 and 2 pruned
		{5, 0, []uint64{5, 4, 3}},
		{99, 0, []uint64{7, 6, 5, 4, 3}}, // past the newest: from the newest
		{2, 0, []uint64{}},               // only pruned ids
		{6, 2, []uint64{6, 5}},           // fn stops the walk
	} {
		if got := commitsBack(t, s, tc.to, tc.limit); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("CommitsBack(%d) limit %d: %v, want %v", tc.to, tc.limit, got, tc.want)
		}
	}
}
