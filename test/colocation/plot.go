package colocation

import (
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	colOffered  = color.RGBA{R: 90, G: 90, B: 90, A: 255}
	colP99      = color.RGBA{R: 200, G: 30, B: 30, A: 255}
	colBase     = color.RGBA{R: 120, G: 120, B: 220, A: 255}
	colBusiness = color.RGBA{R: 30, G: 90, B: 200, A: 255}
	colBatch    = color.RGBA{R: 30, G: 160, B: 60, A: 255}
	colReserved = color.RGBA{R: 230, G: 140, B: 0, A: 255}
	colThrottle = color.RGBA{R: 160, G: 0, B: 160, A: 255}
)

// Plot draws one scenario as three aligned panels over time: offered load;
// business p99 per second (and the baseline's); business, batch, reserved
// and throttle-cap CPUs with throttle and eviction marks. Written as PNG.
func Plot(r, baseline Result, path string) error {
	load := plot.New()
	load.Title.Text = r.Name + ": " + r.Description
	load.Y.Label.Text = "offered req/s"
	if err := addLine(load, "offered load", colOffered, r.Windows, func(w Window) (float64, bool) { return w.OfferedRPS, true }); err != nil {
		return err
	}

	lat := plot.New()
	lat.Y.Label.Text = "business p99 ms (per s)"
	if r.Name != baseline.Name {
		if err := addLine(lat, baseline.Name+" p99", colBase, baseline.Windows, func(w Window) (float64, bool) { return w.P99Ms, w.P99Ms > 0 }); err != nil {
			return err
		}
	}
	if err := addLine(lat, "p99", colP99, r.Windows, func(w Window) (float64, bool) { return w.P99Ms, w.P99Ms > 0 }); err != nil {
		return err
	}

	cpu := plot.New()
	cpu.X.Label.Text = "seconds"
	cpu.Y.Label.Text = "cpus"
	for _, s := range []struct {
		name string
		col  color.Color
		get  func(Window) (float64, bool)
	}{
		{"business", colBusiness, func(w Window) (float64, bool) { return w.BusinessCPUs, true }},
		{"batch", colBatch, func(w Window) (float64, bool) { return w.BatchCPUs, true }},
		{"reserved", colReserved, func(w Window) (float64, bool) { return w.ReservedCPUs, w.ReservedCPUs >= 0 }},
		{"throttle cap", colThrottle, func(w Window) (float64, bool) { return w.ThrottleCPUs, w.Throttled }},
	} {
		if err := addLine(cpu, s.name, s.col, r.Windows, s.get); err != nil {
			return err
		}
	}
	var thr, ev plotter.XYs
	for _, w := range r.Windows {
		if w.Throttled {
			thr = append(thr, plotter.XY{X: w.T, Y: 0})
		}
		if w.Evicted {
			ev = append(ev, plotter.XY{X: w.T, Y: 0.1})
		}
	}
	for _, m := range []struct {
		name  string
		pts   plotter.XYs
		col   color.Color
		shape draw.GlyphDrawer
	}{{"throttled", thr, colThrottle, draw.BoxGlyph{}}, {"eviction", ev, colP99, draw.TriangleGlyph{}}} {
		if len(m.pts) == 0 {
			continue
		}
		s, err := plotter.NewScatter(m.pts)
		if err != nil {
			return err
		}
		s.GlyphStyle.Color, s.GlyphStyle.Shape, s.GlyphStyle.Radius = m.col, m.shape, vg.Points(2)
		cpu.Add(s)
		cpu.Legend.Add(m.name, s)
	}
	for _, p := range []*plot.Plot{load, lat, cpu} {
		p.X.Min, p.X.Max = 0, r.Seconds
		p.Y.Min = 0
		p.Legend.Top, p.Legend.Left = true, true
		p.Add(plotter.NewGrid())
	}

	img := vgimg.New(12*vg.Inch, 9*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8), PadY: vg.Points(6)}
	panels := [][]*plot.Plot{{load}, {lat}, {cpu}}
	canvases := plot.Align(panels, tiles, dc)
	for i := range panels {
		panels[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func addLine(p *plot.Plot, name string, col color.Color, ws []Window, get func(Window) (float64, bool)) error {
	var pts plotter.XYs
	for _, w := range ws {
		if v, ok := get(w); ok {
			pts = append(pts, plotter.XY{X: w.T, Y: v})
		}
	}
	if len(pts) == 0 {
		return nil
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color, l.Width = col, vg.Points(1.2)
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}
