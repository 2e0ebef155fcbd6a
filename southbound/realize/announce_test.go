package realize

import (
	"context"
	"errors"
	"testing"

	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/routing"
)

// fakeAnnouncer records what it was asked and fails as told.
type fakeAnnouncer struct {
	name               string
	relevant           bool
	checkErr, annErr   error
	checked, announced *[]string
}

func (f fakeAnnouncer) Relevant(func(tree.DiffFunc)) bool { return f.relevant }
func (f fakeAnnouncer) Check(*tree.Node) error {
	*f.checked = append(*f.checked, f.name)
	return f.checkErr
}
func (f fakeAnnouncer) Announce(context.Context, *tree.Node, routing.Result) error {
	*f.announced = append(*f.announced, f.name)
	return f.annErr
}

// Announcers are relevant when one is, checked in order up to the first
// refusal, and all announced even past a failure (at start, one that
// cannot take the stored state must not keep the others from it).
func TestAnnouncers(t *testing.T) {
	var checked, announced []string
	refused, failed := errors.New("refused"), errors.New("failed")
	as := Announcers{
		fakeAnnouncer{name: "gw", checkErr: refused, annErr: failed, checked: &checked, announced: &announced},
		fakeAnnouncer{name: "bgp", relevant: true, checked: &checked, announced: &announced},
	}
	if !as.Relevant(nil) || (Announcers{as[0]}).Relevant(nil) {
		t.Error("relevant must be any's")
	}
	if err := as.Check(nil); !errors.Is(err, refused) || len(checked) != 1 {
		t.Errorf("check: %v after %v, want the first refusal alone", err, checked)
	}
	if err := as.Announce(context.Background(), nil, routing.Result{}); !errors.Is(err, failed) || len(announced) != 2 {
		t.Errorf("announce: %v after %v, want the failure and both announced", err, announced)
	}
}
