package placeholder

import (
	"crypto/sha256"
	"image"
	"image/color"
)

// The identicon grid: 5x5 cells of 80 pixels with a 56-pixel margin, so that
// every cell edge falls on a whole pixel.
const (
	gridCells  = 5
	cellSize   = 80
	gridMargin = (Size - gridCells*cellSize) / 2
)

var identiconBackground = color.RGBA{0xf0, 0xf0, 0xf0, 0xff}

// Identicon returns a 5x5 horizontally symmetric pattern of cells in one
// colour on a light background. The same seed always gives the same image.
func Identicon(seed string) []byte {
	sum := sha256.Sum256([]byte(seed))
	foreground := hsl(seedHue(sum), between(sum[2], 0.40, 0.60), between(sum[3], 0.50, 0.62))
	img := image.NewPaletted(square, color.Palette{identiconBackground, foreground})

	// Only the left three columns are chosen; the right two mirror them.
	bits := uint16(sum[4])<<8 | uint16(sum[5])
	const half = (gridCells + 1) / 2
	for row := range gridCells {
		for col := range half {
			if bits&(1<<(row*half+col)) == 0 {
				continue
			}
			fillCell(img, row, col)
			fillCell(img, row, gridCells-1-col)
		}
	}
	return encode(img)
}

// fillCell paints one grid cell in the foreground colour (palette index 1).
func fillCell(img *image.Paletted, row, col int) {
	x0, y0 := gridMargin+col*cellSize, gridMargin+row*cellSize
	for y := y0; y < y0+cellSize; y++ {
		for x := x0; x < x0+cellSize; x++ {
			img.SetColorIndex(x, y, 1)
		}
	}
}
