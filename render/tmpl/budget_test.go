package tmpl

import (
	"context"

	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Masterminds/sprig/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The attacks of issue 12: each built ≈ 1.5 GB in one request before the
// budget existed.
const (
	// 6,000 distinct 250 KB strings kept in a dict.
	dictAttack = `{{ $d := dict }}{{ range $i := until 6000 }}{{ $_ := set $d (printf "%d" $i) (printf "%s%d" (repeat 10000 "abcdefghijklmnopqrstuvwxy") $i) }}{{ end }}{{ len $d }}`
	// The same through a list.
	listAttack = `{{ $l := list }}{{ range $i := until 6000 }}{{ $l = append $l (printf "%s%d" (repeat 10000 "abcdefghijklmnopqrstuvwxy") $i) }}{{ end }}{{ len $l }}`
	// One 250 KB leaf (1,000 of them made a 250 MB answer).
	bigLeaf = `{{ repeat 10000 "abcdefghijklmnopqrstuvwxy" }}`
)

func budgetCtx(limit int64) (context.Context, *Budget) {
	b := NewBudget(limit)
	return WithBudget(context.Background(), b), b
}

func TestBudgetStopsValuesKeptInALoop(t *testing.T) {
	e := New(Options{})
	for name, src := range map[string]string{"dict": dictAttack, "list": listAttack} {
		t.Run(name, func(t *testing.T) {
			ctx, b := budgetCtx(8 << 20)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := e.Render(ctx, src, nil)
			runtime.ReadMemStats(&after)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrBudget)
			require.Contains(t, err.Error(), "more than 8388608 bytes")
			require.Contains(t, err.Error(), "--template-memory")
			// Built: about the budget (each 250 KB string is made twice:
			// repeat, then printf), not 1.5 GB.
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s attack: %d MiB allocated before it failed", name, allocated>>20)
			require.Less(t, allocated, uint64(4*8<<20), "bytes allocated by the render: a small multiple of the budget")
			require.Zero(t, b.Used(), "a failed render gives back all it charged")
		})
	}
}

func TestBudgetCountsKeptOutputs(t *testing.T) {
	e := New(Options{})
	ctx, b := budgetCtx(8 << 20)
	ok := 0
	var err error
	for range 1000 {
		if _, err = e.Render(ctx, bigLeaf, nil); err != nil {
			break
		}
		ok++
	}
	require.ErrorIs(t, err, ErrBudget)
	// 8 MiB holds 33 outputs of 250,000 bytes; the 34th does not fit.
	require.Equal(t, 33, ok)
	require.Equal(t, int64(33*(250000+memSlot)), b.Used(), "the kept outputs stay charged")

	// Intermediate values are given back when the render ends: only the
	// output stays.
	ctx, b = budgetCtx(8 << 20)
	out, err := e.Render(ctx, `{{ $d := dict }}{{ range $i := until 20 }}{{ $_ := set $d (toString $i) (repeat 1000 "x") }}{{ end }}{{ len $d }}`, nil)
	require.NoError(t, err)
	require.Equal(t, "20", out)
	require.Equal(t, int64(len("20")+memSlot), b.Used())

	// Without a budget in the context nothing is charged or refused.
	_, err = e.Render(context.Background(), bigLeaf, nil)
	require.NoError(t, err)
}

// One budget shared by concurrent renders (the race detector checks it).
func TestBudgetConcurrentRenders(t *testing.T) {
	e := New(Options{})
	ctx, b := budgetCtx(64 << 20)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				out, err := e.Render(ctx, `{{ printf "%s-%d" (repeat 100 "x") .i }}`, map[string]any{"i": g*1000 + i})
				assert.NoError(t, err)
				assert.Len(t, out, 101+len(fmt.Sprint(g*1000+i)))
			}
		}()
	}
	wg.Wait()
	want := int64(0)
	for g := range 8 {
		for i := range 50 {
			want += int64(101+len(fmt.Sprint(g*1000+i))) + memSlot
		}
	}
	require.Equal(t, want, b.Used())
}

// Every function whose result is a string, list or map is charged (or is
// listed as returning an argument or a fixed-size value).
func TestEveryBuilderIsCharged(t *testing.T) {
	fixed := map[string]bool{"buildCustomCert": true, "semver": true, "unixEpoch": true}
	e := New(Options{})
	for name, fn := range e.fs.plain {
		if _, refused := refusal(name); refused || name == guardFunc || sharedResult[name] || fixed[name] {
			continue
		}
		switch reflect.TypeOf(fn).Out(0).Kind() {
		case reflect.String, reflect.Slice, reflect.Map, reflect.Interface:
			_, ok := e.fs.charged[name]
			assert.True(t, ok, "%s builds a value but is not charged: add its signature to chargeWrap", name)
		}
	}
	for _, name := range []string{"until", "untilStep", "seq", "set", "merge", "uniq", "without", "derivePassword", "asJson"} {
		assert.Contains(t, e.fs.stateful, name)
	}
}

// uniq and without give Sprig's results (reflect.DeepEqual equality, first
// occurrence, order kept) for every kind of element.
func TestUniqWithoutMatchSprig(t *testing.T) {
	sp := sprig.TxtFuncMap()
	sUniq := sp["mustUniq"].(func(any) ([]any, error))
	sWithout := sp["mustWithout"].(func(any, ...any) ([]any, error))
	e := New(Options{})
	st := &renderState{lim: &e.fs.lim, ctx: context.Background()}
	r := rand.New(rand.NewPCG(1, 2))
	values := []any{nil, "", "a", "b", 0, 1, int64(1), 1.0, 0.0, math.Copysign(0, -1), math.NaN(), true, false,
		[]any{}, []any(nil), []any{1}, []any{"1"}, []string{"1"}, []int{1}, []string(nil),
		map[string]any{}, map[string]any(nil), map[string]any{"a": 1}, map[string]any{"a": 1.0},
		map[string]any{"a": []any{1, "x"}}, int8(1), []int8{1}, struct{ A int }{1}, &struct{}{},
	}
	pick := func() any {
		v := values[r.IntN(len(values))]
		if r.IntN(4) == 0 { // a fresh copy: equal, not identical
			v = deepCopyForTest(v)
		}
		return v
	}
	for range 2000 {
		list := make([]any, r.IntN(12))
		for i := range list {
			list[i] = pick()
		}
		want, _ := sUniq(list)
		got, err := e.fs.uniqList(st, "uniq", list)
		require.NoError(t, err)
		require.True(t, sameElements(want, got), "uniq %#v: want %#v, got %#v", list, want, got)

		omit := make([]any, r.IntN(4))
		for i := range omit {
			omit[i] = pick()
		}
		want, _ = sWithout(list, omit...)
		got, err = e.fs.withoutList(st, "without", list, omit)
		require.NoError(t, err)
		require.True(t, sameElements(want, got), "without %#v %#v: want %#v, got %#v", list, omit, want, got)
	}
	_, err := e.Render(context.Background(), `{{ uniq 3 }}`, nil)
	require.ErrorContains(t, err, "uniq: needs a list, got int")
}

func deepCopyForTest(v any) any {
	switch x := v.(type) {
	case []any:
		if x == nil {
			return x
		}
		out := make([]any, len(x))
		for i := range x {
			out[i] = deepCopyForTest(x[i])
		}
		return out
	case map[string]any:
		if x == nil {
			return x
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = deepCopyForTest(e)
		}
		return out
	}
	return v
}

// sameElements compares results element by element by identity of kind and
// value, with NaN equal to NaN (reflect.DeepEqual of the two results would
// call a list holding NaN unequal to itself).
func sameElements(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if fmt.Sprintf("%T %#v", a[i], a[i]) != fmt.Sprintf("%T %#v", b[i], b[i]) {
			return false
		}
	}
	return true
}

// The attack of issue 12: uniq over 300 lists of 1,001 numbers that differ
// only in their last element (n²·m with Sprig: 13 s of CPU in one call). It
// is refused at once for its size (printed, over 4 × MaxOutputBytes), and
// the largest list allowed is deduplicated in one pass (its speed is in
// BenchmarkUniqWorstCase). The slow path for other element types stops when
// the context is done.
func TestUniqWorstCase(t *testing.T) {
	e := New(Options{})
	_, err := e.Render(context.Background(), uniqAttack(300), nil)
	require.ErrorContains(t, err, "uniq: argument is too large to format (over 1048576 bytes")
	out, err := e.Render(context.Background(), uniqWorstAllowed, nil)
	require.NoError(t, err)
	require.Equal(t, "200", out)
	out, err = e.Render(context.Background(), `{{ $base := splitList "" (repeat 1000 "a") }}{{ $ls := list }}{{ range $i := until 200 }}{{ $ls = append $ls (append $base (toString $i)) }}{{ end }}{{ without $ls (append $base "3") (append $base "7") | len }}`, nil)
	require.NoError(t, err)
	require.Equal(t, "198", out)

	// Elements without a key (int8 here) are compared with DeepEqual, with
	// the context checked before each comparison.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := make([]any, 50)
	for i := range l {
		l[i] = []int8{int8(i)}
	}
	_, err = e.Render(ctx, `{{ uniq .l | len }}`, map[string]any{"l": l})
	require.ErrorIs(t, err, context.Canceled)
	st := &renderState{lim: &e.fs.lim, ctx: ctx, done: ctx.Done()}
	_, err = e.fs.uniqList(st, "uniq", l)
	require.ErrorIs(t, err, context.Canceled)
	_, err = e.fs.withoutList(st, "without", l, []any{[]int8{1}})
	require.ErrorIs(t, err, context.Canceled)
}

// uniqWorstAllowed is about the costliest uniq the size limit lets through:
// 200 lists of 1,001 one-letter strings, differing in their last element
// (n²·m/2 = 20 M comparisons with Sprig).
const uniqWorstAllowed = `{{ $base := splitList "" (repeat 1000 "a") }}{{ $ls := list }}{{ range $i := until 200 }}{{ $ls = append $ls (append $base (toString $i)) }}{{ end }}{{ uniq $ls | len }}`

// uniqAttack is uniq over n lists of 1,001 numbers that differ only in
// their last element.
func uniqAttack(n int) string {
	return fmt.Sprintf(`{{ $base := until 1000 }}{{ $ls := list }}{{ range $i := until %d }}{{ $ls = append $ls (append $base $i) }}{{ end }}{{ uniq $ls | len }}`, n)
}

func TestRegexWorkIsBounded(t *testing.T) {
	e := New(Options{})
	for _, fn := range []string{"regexMatch", "mustRegexMatch", "regexFind", "mustRegexFind"} {
		_, err := e.Render(context.Background(), `{{ `+fn+` (repeat 5000 "a?") (repeat 10000 "a") }}`, nil)
		require.ErrorContains(t, err, fn+": pattern of", fn)
		require.ErrorContains(t, err, "steps, more than 16777216", fn)
	}
	for _, fn := range []string{"regexFindAll", "mustRegexFindAll", "regexSplit", "mustRegexSplit"} {
		_, err := e.Render(context.Background(), `{{ `+fn+` (repeat 5000 "a?") (repeat 10000 "a") -1 }}`, nil)
		require.ErrorContains(t, err, fn+": pattern of", fn)
	}
	for _, fn := range []string{"regexReplaceAll", "mustRegexReplaceAll", "regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"} {
		_, err := e.Render(context.Background(), `{{ `+fn+` (repeat 5000 "a?") (repeat 10000 "a") "" }}`, nil)
		require.ErrorContains(t, err, fn+": pattern of", fn)
	}
	// Ordinary use is unchanged, and an invalid pattern still matches
	// nothing in regexMatch (Sprig's behaviour).
	for src, want := range map[string]string{
		`{{ regexMatch "^[a-z]+$" "abc" }}`:                     "true",
		`{{ regexMatch "(" "abc" }}`:                            "false",
		`{{ regexFind "[0-9]+" "ab12cd345" }}`:                  "12",
		`{{ regexFindAll "[0-9]+" "ab12cd345" -1 | join "," }}`: "12,345",
		`{{ regexSplit "[,;]" "a,b;c" -1 | join " " }}`:         "a b c",
		`{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}`:    "-W-xxW-",
	} {
		out, err := e.Render(context.Background(), src, nil)
		require.NoError(t, err, src)
		require.Equal(t, want, out, src)
	}
	_, err := e.Render(context.Background(), `{{ mustRegexMatch "(" "abc" }}`, nil)
	require.ErrorContains(t, err, "error parsing regexp")
}

// derivePassword (scrypt, ≈ 32 MiB a call) waits for a slot, and gives up
// when its render's context is done.
func TestDerivePasswordIsThrottledAndCancellable(t *testing.T) {
	e := New(Options{})
	out, err := e.Render(context.Background(), `{{ derivePassword 1 "long" "password" "user" "example.com" }}`, nil)
	require.NoError(t, err)
	require.Equal(t, "ZedaFaxcZaso9*", out) // Sprig's documented example

	for range cap(scryptSlots) {
		scryptSlots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = e.Render(ctx, `{{ derivePassword 1 "long" "password" "user" "example.com" }}`, nil)
	for range cap(scryptSlots) {
		<-scryptSlots
	}
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// Every function that builds a value notices a done context.
func TestBuildersNoticeCancellation(t *testing.T) {
	e := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, src := range []string{`{{ $x := repeat 3 "a" }}`, `{{ $x := list 1 2 }}`, `{{ $x := dict "a" 1 }}`, `{{ $x := printf "%d" 1 }}`} {
		_, err := e.Render(ctx, src, nil)
		require.ErrorIs(t, err, context.Canceled, src)
	}
}

func BenchmarkUniqWorstCase(b *testing.B) {
	e := New(Options{})
	for b.Loop() {
		if _, err := e.Render(context.Background(), uniqWorstAllowed, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// A pattern and input just under maxRegexWork: the slowest single regex
// call a template can make.
func BenchmarkRegexAtTheBound(b *testing.B) {
	e := New(Options{})
	src := `{{ regexMatch "` + strings.Repeat("a?", 30) + `c" (repeat 10000 "aaaaaaaaaaaaaaaaaaaa") }}`
	_, err := e.Render(context.Background(), src, nil)
	require.NoError(b, err)
	_, err = e.Render(context.Background(), `{{ regexMatch "`+strings.Repeat("a?", 90)+`c" (repeat 10000 "aaaaaaaaaaaaaaaaaaaa") }}`, nil)
	require.ErrorContains(b, err, "pattern of") // three times the pattern is over
	for b.Loop() {
		if _, err := e.Render(context.Background(), src, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDerivePassword(b *testing.B) {
	e := New(Options{})
	for b.Loop() {
		if _, err := e.Render(context.Background(), `{{ derivePassword 1 "long" "password" "user" "example.com" }}`, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// The match-by-match scans give regexp's own results.
func TestRegexAllMatchesMatchRegexp(t *testing.T) {
	pieces := []string{"a", "b", "é", ".", "a*", "b+", "(a|b)", "(a*)", "x?", "[ab]", "(?:ab)*", "$", "(a)(b)?", "é?", "\\d*"}
	alphabet := []string{"a", "b", "é", "1", "\xff", "x"}
	r := rand.New(rand.NewPCG(3, 4))
	st := &renderState{ctx: context.Background()}
	for range 3000 {
		var p strings.Builder
		for range 1 + r.IntN(3) {
			p.WriteString(pieces[r.IntN(len(pieces))])
		}
		if r.IntN(5) == 0 {
			p.WriteString("|" + pieces[r.IntN(len(pieces))])
		}
		var in strings.Builder
		for range r.IntN(10) {
			in.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		pat, s := p.String(), in.String()
		re, err := compileRegex("t", pat, len(s))
		require.NoError(t, err, pat)
		require.True(t, re.suffixSafe, pat)
		for _, n := range []int{-1, 0, 1, 2, 5} {
			got, err := re.findAll(st, "t", s, n)
			require.NoError(t, err)
			require.Equal(t, re.FindAllString(s, n), got, "FindAllString(%q, %q, %d)", pat, s, n)
			got, err = re.split(st, "t", s, n)
			require.NoError(t, err)
			require.Equal(t, re.Split(s, n), got, "Split(%q, %q, %d)", pat, s, n)
		}
		for _, repl := range []string{"", "-", "<$0>", "${1}x$2"} {
			got, err := re.replaceAll(st, "t", s, repl, false, 1<<20)
			require.NoError(t, err)
			require.Equal(t, re.ReplaceAllString(s, repl), got, "ReplaceAllString(%q, %q, %q)", pat, s, repl)
			got, err = re.replaceAll(st, "t", s, repl, true, 1<<20)
			require.NoError(t, err)
			require.Equal(t, re.ReplaceAllLiteralString(s, repl), got, "ReplaceAllLiteralString(%q, %q, %q)", pat, s, repl)
		}
	}
	// Patterns that look behind their position use regexp's own functions.
	for src, want := range map[string]string{
		`{{ regexFindAll "\\bab" "ab cab ab" -1 | join "," }}`: "ab,ab",
		`{{ regexReplaceAll "(?m)^x" "x\nxx\nax" "-" }}`:       "-\n-x\nax",
		`{{ regexSplit "^a" "aba" -1 | join "," }}`:            ",ba",
		`{{ regexReplaceAllLiteral "\\Bb" "bb b" "$1" }}`:      "b$1 b",
	} {
		out, err := New(Options{}).Render(context.Background(), src, nil)
		require.NoError(t, err, src)
		require.Equal(t, want, out, src)
	}
	_, err := New(Options{}).Render(context.Background(), `{{ regexFindAll "\\ba" (repeat 10000 "a") -1 }}`, nil)
	require.ErrorContains(t, err, `regexFindAll: a pattern with ^, \b or \B`)
}

// A pattern that makes regexp rescan the rest of the input for every match
// ((?:[^z]*z)|a on 200 KB: 200,000 scans of up to 200 KB, hours of CPU in
// one uninterruptible call) stops at the deadline.
func TestRegexRescansStopAtTheDeadline(t *testing.T) {
	e := New(Options{})
	for _, src := range []string{
		`{{ regexFindAll "(?:[^z]*z)|a" (repeat 10000 "aaaaaaaaaaaaaaaaaaaa") -1 | len }}`,
		`{{ regexSplit "(?:[^z]*z)|a" (repeat 10000 "aaaaaaaaaaaaaaaaaaaa") -1 | len }}`,
		`{{ regexReplaceAll "(?:[^z]*z)|a" (repeat 10000 "aaaaaaaaaaaaaaaaaaaa") "" | len }}`,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err := e.Render(ctx, src, nil)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, src)
	}
}
