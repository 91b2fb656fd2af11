// RUN: flashgen-opt %s -flash-lower-kernels -verify-diagnostics

// Without a schedule there is nothing to lower: the pass says what to run.
func.func @unscheduled(%q: tensor<1x1x16x64xbf16>) -> tensor<1x1x16x64xbf16> {
  // expected-error@+1 {{has no flash.schedule: run flash-schedule first}}
  %o = flash.attention %q, %q, %q : tensor<1x1x16x64xbf16>, tensor<1x1x16x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  return %o : tensor<1x1x16x64xbf16>
}
