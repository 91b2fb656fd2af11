// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// Malformed input is a parse error with a location, never a crash.

func.func @f(%q: tensor<1x1x8x64xbf16>) -> tensor<1x1x8x64xbf16> {
  // expected-error@+1 {{expected string or keyword containing one of the following enum values for attribute 'mask' [none, causal, sliding_window]}}
  %o = flash.attention %q, %q, %q mask diagonal : tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16> -> tensor<1x1x8x64xbf16>
  return %o : tensor<1x1x8x64xbf16>
}

// -----

func.func @f(%q: tensor<1x1x8x64xbf16>) -> tensor<1x1x8x64xbf16> {
  // expected-error@+1 {{expected string or keyword containing one of the following enum values for attribute 'gate' [none, decay, vector, mlstm_exp, mlstm_sig]}}
  %o = flash.linear_attention %q, %q, %q gate lstm : tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16> -> tensor<1x1x8x64xbf16>
  return %o : tensor<1x1x8x64xbf16>
}

// -----

func.func @f(%q: tensor<1x1x8x64xbf16>) -> tensor<1x1x8x64xbf16> {
  // expected-error@+1 {{expected ':'}}
  %o = flash.attention %q, %q, %q -> tensor<1x1x8x64xbf16>
  return %o : tensor<1x1x8x64xbf16>
}

// -----

func.func @f(%q: tensor<1x1x8x64xbf16>) -> tensor<1x1x8x64xbf16> {
  // expected-error@+1 {{expected attribute value}}
  %o = flash.attention %q, %q, %q mask sliding_window window wide : tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16> -> tensor<1x1x8x64xbf16>
  return %o : tensor<1x1x8x64xbf16>
}

// -----

func.func @f(%q: tensor<1x1x8x64xi8>) -> tensor<1x1x8x64xi8> {
  // expected-error@+1 {{operand #0 must be ranked tensor of bfloat16 type or 16-bit float or 32-bit float values}}
  %o = flash.attention %q, %q, %q : tensor<1x1x8x64xi8>, tensor<1x1x8x64xi8>, tensor<1x1x8x64xi8> -> tensor<1x1x8x64xi8>
  return %o : tensor<1x1x8x64xi8>
}

// -----

func.func @f(%q: tensor<1x1x8x64xbf16>, %s: tensor<1x1x64x64xbf16>) -> tensor<1x1x8x64xbf16> {
  // expected-error@+1 {{operand #3 must be variadic of ranked tensor of 32-bit float values}}
  %o = flash.linear_attention %q, %q, %q initial(%s : tensor<1x1x64x64xbf16>) : tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16> -> tensor<1x1x8x64xbf16>
  return %o : tensor<1x1x8x64xbf16>
}

// -----

func.func @f(%q: tensor<1x1x8x64xbf16>) -> tensor<1x1x8x64xbf16> {
  // expected-error@+1 {{use of undeclared SSA value name}}
  %o = flash.attention %q, %k, %q : tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16> -> tensor<1x1x8x64xbf16>
  return %o : tensor<1x1x8x64xbf16>
}
