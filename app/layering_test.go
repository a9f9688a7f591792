package app_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// areaPackages are the parts of the product under app/, one package each.
var areaPackages = []string{"account", "admin", "afterschool", "bureau", "exams", "homework"}

// deps lists every package pkg depends on, directly or not (go list -deps).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var list []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct{ ImportPath string }
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.ImportPath != pkg {
			list = append(list, p.ImportPath)
		}
	}
	return list
}

// The layering of DESIGN.md and STYLE.md: main → app → scheduler → models →
// policies; policies imports nothing of ours; models no echo or gocron; the
// kernel no area; no area another area (they meet only in app/areas).
func TestImportDirection(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbid := func(pkg string, bad func(dep string) bool) {
		t.Helper()
		for _, d := range deps(t, pkg) {
			if bad(d) {
				t.Errorf("%s imports %s", pkg, d)
			}
		}
	}
	forbid("jianfu/policies", func(d string) bool { return strings.HasPrefix(d, "jianfu/") })
	forbid("jianfu/models", func(d string) bool {
		return strings.HasPrefix(d, "github.com/labstack/echo") || strings.HasPrefix(d, "github.com/go-co-op/gocron") ||
			d == "jianfu/app" || strings.HasPrefix(d, "jianfu/app/") || d == "jianfu/scheduler"
	})
	forbid("jianfu/scheduler", func(d string) bool { return d == "jianfu/app" || strings.HasPrefix(d, "jianfu/app/") })
	forbid("jianfu/app", func(d string) bool { return strings.HasPrefix(d, "jianfu/app/") })
	for _, a := range areaPackages {
		forbid("jianfu/app/"+a, func(d string) bool {
			for _, other := range areaPackages {
				if other != a && d == "jianfu/app/"+other {
					return true
				}
			}
			return d == "jianfu/app/areas" || d == "jianfu/app/apptest"
		})
	}
}
