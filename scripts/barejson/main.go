// Command barejson is the baseline of scripts/bench.sh: a bare Echo server
// answering one small JSON list, the floor under any real handler's cost.
package main

import (
	"flag"
	"net/http"

	"github.com/labstack/echo/v4"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18099", "listen address")
	flag.Parse()
	e := echo.New()
	e.HideBanner = true
	type item struct {
		ID      int64  `json:"id"`
		Subject string `json:"subject"`
		Title   string `json:"title"`
		Minutes int    `json:"minutes"`
	}
	items := []item{{1, "数学", "课后练习", 20}, {2, "语文", "阅读理解练习", 25}, {3, "英语", "单词默写", 15}}
	e.GET("/board", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"date": "2026-11-25", "items": items, "total_minutes": 60, "cap_minutes": 90})
	})
	e.Logger.Fatal(e.Start(*addr))
}
