package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/scheduler"
)

// Two `serve` processes on one PostgreSQL, with the heartbeat job every 2 s:
// while both live only the elected one runs it, one run per period; when
// the leader is killed (SIGKILL: its database session and advisory lock die
// with it) the other takes over.
func TestTwoServeProcessesRunEachPeriodOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers for about 16 s")
	}
	found := false
	for _, d := range dbtest.Dialects() {
		found = found || d == models.Postgres
	}
	if !found {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL")
	}
	db := dbtest.Open(t, models.Postgres)
	url := dbtest.URL(db)
	procs := map[int]*exec.Cmd{}
	for i := 0; i < 2; i++ {
		cmd := exec.Command(jianfuBinary(t), "serve", "--addr", "127.0.0.1:0")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "JOB_HEARTBEAT_EVERY=2s", "LOG_LEVEL=warn")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[cmd.Process.Pid] = cmd
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	runs := func() []models.JobRun {
		var rs []models.JobRun
		if err := db.Where("job = ?", scheduler.JobHeartbeat).Order("period").Find(&rs).Error; err != nil {
			t.Fatal(err)
		}
		return rs
	}
	time.Sleep(9 * time.Second)
	before := runs()
	leaders := map[string]bool{}
	for _, r := range before {
		leaders[r.Replica] = true
	}
	if len(before) < 2 || len(leaders) != 1 {
		t.Fatalf("while both live: %d runs by %v, want one replica running every period", len(before), leaders)
	}
	var leaderPID int
	for r := range leaders {
		fmt.Sscanf(r[strings.LastIndex(r, "-")+1:], "%d", &leaderPID)
	}
	leader, ok := procs[leaderPID]
	if !ok {
		t.Fatalf("leader %v is not one of the processes %v", leaders, procs)
	}
	if err := leader.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	leader.Wait()
	time.Sleep(7 * time.Second)
	after := runs()
	seen := map[string]bool{}
	var taken int
	for _, r := range after {
		if seen[r.Period] {
			t.Fatalf("period %s ran twice", r.Period)
		}
		seen[r.Period] = true
		if r.Outcome != models.RunOK && r.Outcome != models.RunRunning {
			t.Errorf("run %+v", r)
		}
		if !leaders[r.Replica] {
			taken++
		}
	}
	if taken < 2 {
		t.Fatalf("after the leader was killed the other process ran %d periods: %+v", taken, after)
	}
	// No period was skipped except, at most, the one of the take-over.
	first, _ := time.Parse(time.RFC3339, after[0].Period)
	last, _ := time.Parse(time.RFC3339, after[len(after)-1].Period)
	if want := int(last.Sub(first)/(2*time.Second)) + 1; len(after) < want-1 {
		t.Errorf("%d runs for %d periods", len(after), want)
	}
	t.Logf("%d periods before the kill by %v, %d after by the other process", len(before), leaders, taken)
}
