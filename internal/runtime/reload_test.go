package runtime

import (
	"reflect"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
)

// A reload keeps the settings read at start at their running values and
// names them; the rest of the new config is taken.
func TestPinRestartKeys(t *testing.T) {
	running, next := config.Default(), config.Default()
	running.Listen, next.Listen = ":8080", ":9090"
	next.Store.Type = "redis"
	next.Admin.Listen = "127.0.0.1:9180"
	next.Timeouts.Drain = time.Second
	next.Log.Level = "debug"
	next.Limits.ResponseBufferPerClient = 1 << 20
	changed := PinRestartKeys(running, next)
	if want := []string{"listen", "timeouts", "limits.response_buffer_per_client", "store", "admin.listen"}; !reflect.DeepEqual(changed, want) {
		t.Fatalf("changed %v, want %v", changed, want)
	}
	if next.Listen != ":8080" || next.Store.Type != running.Store.Type || next.Admin.Listen != "" || next.Timeouts.Drain != running.Timeouts.Drain {
		t.Fatalf("not pinned: %+v", next)
	}
	if next.Log.Level != "debug" {
		t.Fatal("a reloadable key was pinned")
	}
}
