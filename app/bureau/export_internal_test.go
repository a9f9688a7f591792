package bureau

import "testing"

func TestPercentText(t *testing.T) {
	for v, want := range map[float64]string{0.853: "85.3", 1: "100", 0: "0", 0.5: "50", 0.00125: "0.125", 1.2345: "123.45", 0.07: "7", -0.015: "-1.5"} {
		if got := percentText(v); got != want {
			t.Errorf("percentText(%v) = %q, want %q", v, got, want)
		}
	}
	x := 0.1
	x += 0.2 // 0.30000000000000004: the digits move, none is invented or lost
	if got := percentText(x); got != "30.000000000000004" {
		t.Errorf("percentText(%v) = %q", x, got)
	}
}
