package bureau_test

import (
	"net/http"
	"os"
	"testing"

	"jianfu/app/apptest"
	"jianfu/models"
)

// TestDashboardRequestProfile times cached dashboard requests through the
// real router (token auth, Casbin, the version check, the page body) for a
// CPU profile of what a request costs beyond the rollup rows; it runs only
// when asked:
//
//	JIANFU_PROFILE=1 go test ./app/bureau -run DashboardRequestProfile -v -cpuprofile /tmp/dash.prof
func TestDashboardRequestProfile(t *testing.T) {
	if os.Getenv("JIANFU_PROFILE") == "" {
		t.Skip("a profile, not a check: JIANFU_PROFILE=1")
	}
	e := apptest.New(t, models.SQLite)
	c := e.Login("bureau.fuxin")
	res := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if status, _ := c.Raw(http.MethodGet, "/api/v1/regions/210900/dashboard", nil); status != 200 {
				b.Fatal(status)
			}
		}
	})
	t.Logf("cached dashboard request: %s, %d ns/op", res, res.NsPerOp())
}
