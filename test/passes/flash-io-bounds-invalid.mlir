// RUN: flashgen-opt %s -split-input-file -flash-io-bounds="target=sm_90 dims=B=1" -verify-diagnostics
// RUN: not flashgen-opt %s -flash-io-bounds="target=sm_70" 2>&1 | FileCheck %s --check-prefix=TARGET

// An unbound dynamic dimension is an error that names it.
func.func @unbound(%q: tensor<?x1x?x64xbf16>) -> tensor<?x1x?x64xbf16> {
  // expected-error@+1 {{dimension N (query sequence length of flash.attention at}}
  %o = flash.attention %q, %q, %q : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16> -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}

// -----

// The dims option's own names count: "L" is bound nowhere.
func.func @unbound_linear(%q: tensor<1x2x?x64xbf16>) -> tensor<1x2x?x64xbf16> {
  // expected-error@+1 {{dimension L (sequence length of flash.linear_attention at}}
  %o = flash.linear_attention %q, %q, %q dims ["B", "L"] : tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16> -> tensor<1x2x?x64xbf16>
  return %o : tensor<1x2x?x64xbf16>
}

// TARGET: unknown target 'sm_70'; known targets: sm_80, sm_90, h200, sm_test_small
