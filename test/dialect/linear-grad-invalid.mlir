// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// Every verifier rule of flash.linear_attention_grad, one error per case.

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %do: tensor<?x4x?x32xbf16>) {
  // expected-error@+1 {{gate decay takes 1 gate operand(s), got 0}}
  %dq, %dk, %dv = flash.linear_attention_grad %q, %k, %v, %do gate decay : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x32xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>
  return
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %g: tensor<?x4x?xf32>, %do: tensor<?x4x?x32xbf16>) {
  // expected-error@+1 {{gate decay has 1 gate gradient(s), got 0}}
  %dq, %dk, %dv = flash.linear_attention_grad %q, %k, %v, %do gate decay gates(%g : tensor<?x4x?xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x32xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>
  return
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %do: tensor<?x4x?x32xbf16>) {
  // expected-error@+1 {{dk has type 'tensor<?x4x?x32xbf16>', its operand has 'tensor<?x4x?x64xbf16>': they must match}}
  %dq, %dk, %dv = flash.linear_attention_grad %q, %k, %v, %do : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x32xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x32xbf16>
  return
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %do: tensor<?x4x?x64xbf16>) {
  // expected-error@+1 {{result has shape}}
  %dq, %dk, %dv = flash.linear_attention_grad %q, %k, %v, %do : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>
  return
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %do: tensor<?x4x?x32xbf16>, %c0: tensor<?x4x64x32xf32>) {
  // expected-error@+1 {{the initial state has 1 tensor(s) and 0 gradient(s): one gradient per tensor}}
  %dq, %dk, %dv = flash.linear_attention_grad %q, %k, %v, %do initial(%c0 : tensor<?x4x64x32xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x32xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>
  return
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %do: tensor<?x4x?x32xbf16>, %dcf: tensor<?x4x32x64xf32>) {
  // expected-error@+1 {{final-state gradient C has shape}}
  %dq, %dk, %dv = flash.linear_attention_grad %q, %k, %v, %do final_grad(%dcf : tensor<?x4x32x64xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x32xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>
  return
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %g: tensor<?x4x?xf32>, %do: tensor<?x4x?x32xbf16>) {
  // expected-error@+1 {{the gradient of the log-decay has type 'tensor<?x4x?xbf16>', its operand has 'tensor<?x4x?xf32>': they must match}}
  %dq, %dk, %dv, %dg = flash.linear_attention_grad %q, %k, %v, %do gate decay gates(%g : tensor<?x4x?xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x32xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16> gates(tensor<?x4x?xbf16>)
  return
}
