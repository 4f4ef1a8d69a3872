package synth_test

import (
	"fmt"

	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
)

func ExampleLabelBySNI() {
	for _, sni := range []string{"fonts.gstatic.com", "www.gstatic.com", "rr3---sn-2gb7sn7k.googlevideo.com", "example.org"} {
		app, ok := synth.LabelBySNI(sni)
		fmt.Println(sni, app, ok)
	}
	// Output:
	// fonts.gstatic.com google-fonts true
	// www.gstatic.com google-www true
	// rr3---sn-2gb7sn7k.googlevideo.com youtube true
	// example.org  false
}
