package bureau_test

import (
	"fmt"
	"io"
	"runtime"
	"testing"

	"jianfu/app/bureau"
	"jianfu/models"
)

// BenchmarkWriteWorkbook3000 writes a province's workbook (3,000 schools,
// every registered indicator) to a discarding writer and reports the peak
// heap seen while building and writing it (issue 12: under 100 MB RSS).
//
//	go test ./app/bureau -run '^$' -bench WriteWorkbook3000 -benchtime 3x
func BenchmarkWriteWorkbook3000(b *testing.B) {
	defs := models.IndicatorDefs()
	d := &models.Dashboard{Region: models.Region{Code: "210000", Name: "辽宁省"}, Defs: defs,
		Rollup: models.RegionRollup{Code: "210000", Name: "辽宁省", Indicators: map[string]float64{}}}
	for i := 0; i < 3000; i++ {
		v := map[string]float64{}
		for j, def := range defs {
			v[def.Key] = float64((i*31+j*7)%1000) / 1000
		}
		d.Schools = append(d.Schools, models.SchoolIndicators{ID: int64(i + 1), Name: fmt.Sprintf("第%d学校", i+1), RegionCode: "210902",
			Students: 1000, Indicators: v, Score: float64(i % 17), Breaches: []string{"HW-02/03"}})
	}
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			default:
			}
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			runtime.Gosched()
		}
	}()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f, err := bureau.BuildWorkbook(d)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Write(io.Discard); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	close(stop)
	<-done
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
