package memo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
)

// Many more keys than slots, from several goroutines: every answer is the
// function's own for that key, and a remembered key is not computed again.
func TestGetAnswersAsTheFunctionDoes(t *testing.T) {
	var calls atomic.Int64
	fn := func(s string) string { calls.Add(1); return strings.ToUpper(s) + fmt.Sprint(len(s)) }
	tab := New(64, 32, fn)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%d", i)
	}
	keys = append(keys, strings.Repeat("long", 20)) // past maxKey: never kept
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 20000 {
				k := keys[r.IntN(len(keys))]
				if got, want := tab.Get(k), fn(k); got != want {
					errs <- fmt.Errorf("Get(%q) = %q, want %q", k, got, want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	tab.Get("hot")
	before := calls.Load()
	for range 100 {
		tab.Get("hot")
	}
	if n := calls.Load() - before; n != 0 {
		t.Fatalf("a remembered key was computed %d more times", n)
	}
	before = calls.Load()
	long := strings.Repeat("x", 33)
	tab.Get(long)
	tab.Get(long)
	if n := calls.Load() - before; n != 2 {
		t.Fatalf("a key longer than maxKey was computed %d times for 2 calls, want 2 (never kept)", n)
	}
}
