// Command fetexport compares the after-school solver with FET on the same
// generated school: it writes the instance as a .fet file, runs fet-cl on
// it, solves it with scheduler.Solve, and prints both times and both
// solutions' hard-constraint violations (scheduler.Check).
//
//	go run ./scheduler/cmd/fetexport -out /tmp/fetcmp
//
// With -no-fet it only writes the .fet file.
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"jianfu/scheduler"
)

func main() {
	out := flag.String("out", "fetcmp", "output folder")
	seed := flag.Uint64("seed", 1, "instance seed")
	programs := flag.Int("programs", 80, "programs")
	rooms := flag.Int("rooms", 30, "rooms")
	instructors := flag.Int("instructors", 40, "instructors")
	noFET := flag.Bool("no-fet", false, "only write the .fet file")
	limit := flag.Int("fet-timeout", 600, "fet-cl time limit, seconds")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	p := scheduler.GenerateSchool(*seed, *programs, *rooms, *instructors)
	in := filepath.Join(*out, "afterschool.fet")
	f, err := os.Create(in)
	if err != nil {
		log.Fatal(err)
	}
	if err := scheduler.WriteFET(f, p); err != nil {
		log.Fatal(err)
	}
	f.Close()
	fmt.Printf("instance: %d programs, %d rooms, %d instructors, %d weekly slots → %s\n", len(p.Programs), len(p.Rooms), len(p.Instructors), len(scheduler.FETActivityIDs(p)), in)

	const runs = 20
	t0 := time.Now()
	var sol scheduler.Solution
	for i := 0; i < runs; i++ {
		sol = scheduler.Solve(p)
	}
	ours := time.Since(t0) / runs
	fmt.Printf("ours: %v per solve, %d placements, %d unplaced, %d hard-constraint violations\n", ours, len(sol.Placements), len(sol.Unplaced), len(scheduler.Check(p, sol)))
	for _, u := range sol.Unplaced {
		fmt.Printf("  unplaced program %d: %s\n", u.ProgramID, u.Reason)
	}
	if *noFET {
		return
	}
	fetOut := filepath.Join(*out, "fet-out")
	os.RemoveAll(fetOut)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*limit+30)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "fet-cl", "--inputfile="+in, "--outputdir="+fetOut, fmt.Sprintf("--timelimitseconds=%d", *limit))
	t1 := time.Now()
	msg, err := cmd.CombinedOutput()
	fetTime := time.Since(t1)
	if err != nil {
		fmt.Printf("fet-cl failed after %v: %v\n%s\n", fetTime, err, lastLines(string(msg), 15))
	}
	var actFile string
	filepath.WalkDir(fetOut, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, "_activities.xml") {
			actFile = path
		}
		return nil
	})
	if actFile == "" {
		fmt.Printf("FET: %v, no activities file (no solution)\n%s\n", fetTime, lastLines(string(msg), 15))
		return
	}
	af, err := os.Open(actFile)
	if err != nil {
		log.Fatal(err)
	}
	defer af.Close()
	fs, err := scheduler.ReadFETActivities(af, p)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("FET: %v wall time (fet-cl), %d placements, %d unplaced, %d hard-constraint violations\n", fetTime.Round(time.Millisecond), len(fs.Placements), len(fs.Unplaced), len(scheduler.Check(p, fs)))
	for _, v := range scheduler.Check(p, fs) {
		fmt.Println("  FET violation:", v)
	}
	fmt.Printf("ratio FET/ours: %.0fx\n", float64(fetTime)/float64(ours))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
