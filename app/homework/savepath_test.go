package homework_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"jianfu/app/apptest"
)

// TestHomeworkSavePathStatements profiles one homework save by the SQL it
// sends (issue 12): every statement of a warm save is listed in the log, and
// the count is held to the budget the cuts reached, so a change that adds
// round trips to the hottest write path fails here.
func TestHomeworkSavePathStatements(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		hz := e.HZ1()
		c := e.Login("teacher.hz1")
		cl := e.Class(hz.ID, 4, 1)
		path := fmt.Sprintf("/api/v1/classes/%d/homework", cl.ID)
		// A first save warms the caches (policy, settings, sessions).
		if status, body := c.Do(http.MethodPost, path, hwItem("数学", hwDay1, 5)); status != 201 {
			t.Fatalf("warm-up save: %d %v", status, body)
		}
		var mu sync.Mutex
		var stmts []string
		record := func(db *gorm.DB) {
			mu.Lock()
			defer mu.Unlock()
			stmts = append(stmts, strings.Join(strings.Fields(db.Statement.SQL.String()), " "))
		}
		cb := e.DB.Callback()
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(cb.Query().After("gorm:query").Register("test:count_q", record))
		must(cb.Create().After("gorm:create").Register("test:count_c", record))
		must(cb.Update().After("gorm:update").Register("test:count_u", record))
		must(cb.Delete().After("gorm:delete").Register("test:count_d", record))
		must(cb.Raw().After("gorm:raw").Register("test:count_r", record))
		must(cb.Row().After("gorm:row").Register("test:count_row", record))
		status, body := c.Do(http.MethodPost, path, hwItem("数学", hwDay1, 5))
		must(cb.Query().Remove("test:count_q"))
		must(cb.Create().Remove("test:count_c"))
		must(cb.Update().Remove("test:count_u"))
		must(cb.Delete().Remove("test:count_d"))
		must(cb.Raw().Remove("test:count_r"))
		must(cb.Row().Remove("test:count_row"))
		if status != 201 {
			t.Fatalf("save: %d %v", status, body)
		}
		mu.Lock()
		defer mu.Unlock()
		for i, s := range stmts {
			t.Logf("%2d %.160s", i+1, s)
		}
		const budget = 14
		if len(stmts) > budget {
			t.Errorf("a homework save sends %d statements (budget %d)", len(stmts), budget)
		}
	})
}
