package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// row is one printed figure: avatarproxy's, a reference's, and the ratio
// that says how avatarproxy compares (above 1 is better for avatarproxy
// when higherIsBetter, else below 1 is).
type row struct {
	what, unit     string
	proxy          float64
	reference      string
	ref            float64
	higherIsBetter bool
}

type table struct{ rows []row }

func (t *table) add(what, unit string, proxy float64, reference string, ref float64, higherIsBetter bool) {
	t.rows = append(t.rows, row{what, unit, proxy, reference, ref, higherIsBetter})
}

func (t *table) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "what\tavatarproxy\treference\tratio")
	for _, r := range t.rows {
		ratio := "-"
		if r.ref > 0 && r.proxy > 0 {
			ratio = fmt.Sprintf("%.2fx", r.proxy/r.ref)
		}
		ref := "-"
		if r.reference != "" {
			ref = fmt.Sprintf("%s %s", r.reference, format(r.ref, r.unit))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.what, format(r.proxy, r.unit), ref, ratio)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nratio: avatarproxy / reference (throughput: higher is better; time, bytes, memory, fetches: lower is better)")
}

func format(v float64, unit string) string {
	switch unit {
	case "req/s":
		return fmt.Sprintf("%.0f req/s", v)
	case "ms":
		return fmt.Sprintf("%.2f ms", v)
	case "MiB":
		return fmt.Sprintf("%.0f MiB", v)
	case "B":
		return fmt.Sprintf("%.0f B", v)
	}
	return strings.TrimSpace(fmt.Sprintf("%.1f %s", v, unit))
}

// median of the rounds' values.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
