// Command fetcompare reads real FET input files, solves each with our
// solver and with fet-cl under the same time limit, and prints, per file,
// what was read, what is not supported (by constraint name and count), and
// for both solvers the wall time, placed activities and hard-constraint
// violations as scheduler.Check counts them. fet-cl gets the file as we
// write it back (scheduler.FETFile.Write: only the constraints we honour),
// so both solve the same problem, and that shows fet-cl accepts our output.
//
//	go run ./scheduler/cmd/fetcompare -limit 60 /usr/share/doc/fet-data/examples/FET-5-official/Spain/1-school/school.fet …
//
// With -read-only it only reads the files (no solving), to count how many
// of a folder's examples we can read.
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"jianfu/scheduler"
)

func main() {
	limit := flag.Int("limit", 60, "time limit for fet-cl, seconds (ours needs no limit: it is one greedy pass)")
	out := flag.String("out", os.TempDir(), "folder for the written .fet files and fet-cl's output")
	readOnly := flag.Bool("read-only", false, "only read the files")
	flag.Parse()
	read, failed := 0, 0
	for _, path := range flag.Args() {
		f, err := readFile(path)
		if err != nil {
			failed++
			fmt.Printf("%s: NOT READ: %v\n", path, err)
			continue
		}
		read++
		p := f.Problem()
		var unsupported []string
		for _, u := range f.Unsupported {
			unsupported = append(unsupported, fmt.Sprintf("%s×%d", u.Name, u.Count))
		}
		fmt.Printf("%s: FET %s, %d days × %d hours, %d teachers, %d rooms, %d students sets, %d activities; unsupported: %s\n",
			filepath.Base(path), f.Version, len(f.Days), len(f.Hours), len(f.Teachers), len(f.Rooms), len(p.StudentSets), len(p.Programs), orNone(unsupported))
		if *readOnly {
			continue
		}
		t0 := time.Now()
		sol := scheduler.Solve(p)
		ours := time.Since(t0)
		fmt.Printf("  ours:   %8v  placed %d/%d  violations %d\n", ours.Round(time.Millisecond), len(p.Programs)-len(sol.Unplaced), len(p.Programs), len(scheduler.Check(p, sol)))
		fsol, fetTime, err := runFET(f, filepath.Join(*out, "fetcompare-"+strings.TrimSuffix(filepath.Base(path), ".fet")), *limit)
		if err != nil {
			fmt.Printf("  fet-cl: %8v  %v\n", fetTime.Round(time.Millisecond), err)
			continue
		}
		fmt.Printf("  fet-cl: %8v  placed %d/%d  violations %d\n", fetTime.Round(time.Millisecond), len(p.Programs)-len(fsol.Unplaced), len(p.Programs), len(scheduler.Check(p, fsol)))
	}
	fmt.Printf("read %d of %d files\n", read, read+failed)
}

func readFile(path string) (*scheduler.FETFile, error) {
	r, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return scheduler.ReadFET(r)
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// runFET writes f into dir, runs fet-cl on it and reads its activities
// file back. fet-cl writes its best partial timetable when it times out
// ("max placed activities"), which counts as fet-cl's answer.
func runFET(f *scheduler.FETFile, dir string, limit int) (scheduler.Solution, time.Duration, error) {
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return scheduler.Solution{}, 0, err
	}
	in := filepath.Join(dir, "input.fet")
	w, err := os.Create(in)
	if err != nil {
		return scheduler.Solution{}, 0, err
	}
	if err := f.Write(w); err != nil {
		return scheduler.Solution{}, 0, err
	}
	w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(limit+60)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "fet-cl", "--inputfile="+in, "--outputdir="+filepath.Join(dir, "out"), fmt.Sprintf("--timelimitseconds=%d", limit))
	t0 := time.Now()
	msg, runErr := cmd.CombinedOutput()
	took := time.Since(t0)
	var act string
	filepath.WalkDir(filepath.Join(dir, "out"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, "_activities.xml") && (act == "" || !strings.Contains(path, "highest")) {
			act = path
		}
		return nil
	})
	if act == "" {
		return scheduler.Solution{}, took, fmt.Errorf("no timetable (%v): %s", runErr, lastLine(string(msg)))
	}
	r, err := os.Open(act)
	if err != nil {
		return scheduler.Solution{}, took, err
	}
	defer r.Close()
	sol, err := scheduler.ReadFETSolution(r, f)
	return sol, took, err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
