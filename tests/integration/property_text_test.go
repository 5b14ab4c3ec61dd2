package integration

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oof-gg/platform/pkg/validate"
)

// Text the property test sends: every Unicode plane and the characters that
// tend to break storage, rendering or length checks. NUL is not among them:
// commands must refuse it (see unstorableText), everything here must be
// accepted and stored exactly.
var oddRunes = []rune{
	'\u0001', '\u001f', '\u007f', '\u0085', '\t', '\n', '\r', // control characters other than NUL
	'\u00a0', '\u00ad', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', // invisible
	'\u0301', '\u0308', '\u0489', '\u20dd', '\u1ab0', // combining marks
	'\u202e', '\u202d', '\u200f', '\u200e', '\u2067', '\u2069', // bidirectional controls
	'\u05d0', '\u05ea', '\u0627', '\u0644', '\u06f1', // Hebrew, Arabic
	'\u2028', '\u2029', // line and paragraph separators
	'\ufdd0', '\ufffe', '\uffff', '\ufffd', '\ue000', '\uf8ff', // noncharacters, replacement, private use
	'\U0001f3ae', '\U0001f47e', '\U0001f1fa', '\U0001f3fd', // emoji, regional indicator, skin tone
	'\U0001d400', '\U00020000', '\U0002a6d6', '\U00030000', // SMP math, CJK ext B, TIP
	'\U000e0001', '\U000e007f', '\U000f0000', '\U0010fffd', '\U0010ffff', // tags, private use planes, last code point
	'"', '\\', '\'', '<', '>', '&', '%', '{', '}', '/', // quoting and markup
}

// randomRune draws from ASCII, the odd runes, or any plane (0..16).
func randomRune(r *rand.Rand) rune {
	switch n := r.IntN(10); {
	case n < 4:
		return rune(0x20 + r.IntN(0x5f))
	case n < 7:
		return oddRunes[r.IntN(len(oddRunes))]
	default:
		for {
			c := rune(r.IntN(17))<<16 | rune(r.IntN(0x10000))
			if c != 0 && utf8.ValidRune(c) { // no surrogate halves, no NUL
				return c
			}
		}
	}
}

// length picks a size in lo..hi, often at or next to a bound.
func length(r *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	switch r.IntN(8) {
	case 0:
		return lo
	case 1:
		return hi
	case 2:
		return max(lo, hi-1)
	case 3:
		return min(hi, lo+1)
	case 4, 5:
		return lo + r.IntN(min(hi-lo, 12)+1)
	default:
		return lo + r.IntN(hi-lo+1)
	}
}

// textChars is lo..hi characters (runes), as validate.Text counts.
func textChars(r *rand.Rand, lo, hi int) string {
	n := length(r, lo, hi)
	var b strings.Builder
	for range n {
		b.WriteRune(randomRune(r))
	}
	return b.String()
}

// textBytes is lo..hi bytes of whole characters (attribute keys and values
// and user ids are bounded in bytes).
func textBytes(r *rand.Rand, lo, hi int) string {
	n := length(r, lo, hi)
	var b strings.Builder
	for b.Len() < n {
		c := randomRune(r)
		if b.Len()+utf8.RuneLen(c) > n {
			c = rune('a' + r.IntN(26))
		}
		b.WriteRune(c)
	}
	return b.String()
}

// maybeText is nil or a text of lo..hi characters.
func maybeText(r *rand.Rand, lo, hi int) *string {
	if r.IntN(3) == 0 {
		return nil
	}
	s := textChars(r, lo, hi)
	return &s
}

// unstorableText is text a command must refuse: a NUL somewhere in an
// otherwise fine value of at most hi characters.
func unstorableText(r *rand.Rand, hi int) string {
	s := []rune(textChars(r, 0, max(0, hi-1)))
	at := r.IntN(len(s) + 1)
	return string(s[:at]) + "\x00" + string(s[at:])
}

// jsonData is nil or valid JSON of at most validate.MaxDataBytes: odd text
// in keys and values, numeric extremes, escapes (including \u0000, which is
// valid JSON and kept as written), nesting, and values exactly at the limit.
func jsonData(r *rand.Rand) *string {
	var s string
	switch r.IntN(9) {
	case 0:
		return nil
	case 1:
		s = []string{"null", "true", "0", "-0", "1e308", "-1e-308", `""`, "[]", "{}"}[r.IntN(9)]
	case 2:
		s = `{"nul":"\u0000","pair":"\ud83c\udfae","lone":"\udc00","line":"\u2028","max":9007199254740993,"neg":-9223372036854775808}`
	case 3: // a string exactly at the size limit
		s = `"` + strings.Repeat("x", validate.MaxDataBytes-2) + `"`
	case 4: // a large value of multi-byte text, under the limit
		b, _ := json.Marshal(textBytes(r, 0, validate.MaxDataBytes/2))
		s = string(b)
	default:
		obj := map[string]any{}
		for range r.IntN(8) {
			var v any
			switch r.IntN(5) {
			case 0:
				v = textChars(r, 0, 40)
			case 1:
				v = []float64{math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 0}[r.IntN(4)]
			case 2:
				v = []any{r.Int64(), r.IntN(2) == 0, nil, map[string]any{"deep": []any{textChars(r, 0, 5)}}}
			case 3:
				v = int64(math.MinInt64)
			default:
				v = nil
			}
			obj[textChars(r, 0, 20)] = v
		}
		b, err := json.Marshal(obj)
		if err != nil {
			panic(err) // only valid values are generated
		}
		s = string(b)
	}
	return &s
}

// positiveCount is a plainly written integer in 1..1000000, as the game
// limits travel; small values make the session caps bite.
func positiveCount(r *rand.Rand, typical int) string {
	switch r.IntN(6) {
	case 0:
		return "1"
	case 1:
		return "1000000"
	default:
		return strconv.Itoa(1 + r.IntN(typical))
	}
}

// extremeFloat32 covers the float attribute values: NaN, infinities,
// signed zero, the extremes, subnormals.
func extremeFloat32(r *rand.Rand) float32 {
	vals := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1.5}
	if r.IntN(3) == 0 {
		return r.Float32()*2e6 - 1e6
	}
	return vals[r.IntN(len(vals))]
}

// extremeInt32 covers the int attribute values and scores.
func extremeInt32(r *rand.Rand) int32 {
	vals := []int32{math.MinInt32, math.MaxInt32, 0, -1, 1}
	if r.IntN(3) == 0 {
		return r.Int32() - r.Int32()
	}
	return vals[r.IntN(len(vals))]
}
