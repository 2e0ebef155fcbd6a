package main_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/proto/gnmi_ext"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestKill9DuringCommitConfirmed kills netreadyd with SIGKILL while a
// commit awaits confirmation, once well inside the rollback window and
// once just as the window ends (racing the rollback). Each restart after
// the window undoes the commit exactly once: the configuration is back as
// it was and the commit log holds one rollback per commit.
func TestKill9DuringCommitConfirmed(t *testing.T) {
	bin, dir, d, c := running(t)
	before := configJSON(t, c)
	for i, killAfter := range []time.Duration{100 * time.Millisecond, 400 * time.Millisecond} {
		_, err := c.Set(context.Background(), &gpb.SetRequest{
			Update: []*gpb.Update{{Path: mustPath("/tenants/tenant[name=t]/description"), Val: ietf(`"trial"`)}},
			Extension: []*gnmi_ext.Extension{{Ext: &gnmi_ext.Extension_Commit{Commit: &gnmi_ext.Commit{
				Id:     "c",
				Action: &gnmi_ext.Commit_Commit{Commit: &gnmi_ext.CommitRequest{RollbackDuration: durationpb.New(400 * time.Millisecond)}},
			}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(killAfter)
		if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		d.cmd.Wait()
		time.Sleep(500 * time.Millisecond) // the window is over
		d = startDaemon(t, bin, dir)
		c = connect(t, d.addr, dir)
		if got := configJSON(t, c); got != before {
			t.Fatalf("round %d: not rolled back:\n got  %s\n want %s", i, got, before)
		}
		if n := rollbacks(t, c); n != i+1 {
			t.Fatalf("round %d: %d rollback commits, want %d", i, n, i+1)
		}
	}
}

func configJSON(t *testing.T, c gpb.GNMIClient) string {
	t.Helper()
	resp, err := c.Get(context.Background(), &gpb.GetRequest{Path: []*gpb.Path{{}}, Encoding: gpb.Encoding_JSON_IETF, Type: gpb.GetRequest_CONFIG})
	if err != nil {
		t.Fatal(err)
	}
	return string(resp.GetNotification()[0].GetUpdate()[0].GetVal().GetJsonIetfVal())
}

// rollbacks counts the rollback commits in /system/state/commits.
func rollbacks(t *testing.T, c gpb.GNMIClient) int {
	t.Helper()
	resp, err := c.Get(context.Background(), &gpb.GetRequest{Path: []*gpb.Path{mustPath("/system/state/commits/commit/kind")}, Encoding: gpb.Encoding_JSON_IETF})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, u := range resp.GetNotification()[0].GetUpdate() {
		if strings.Contains(string(u.GetVal().GetJsonIetfVal()), `"rollback"`) {
			n++
		}
	}
	return n
}
