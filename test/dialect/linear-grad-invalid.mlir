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

// -----

// The normaliser kinds read the forward's o and row normalisers ...
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %i: tensor<?x4x?xf32>, %f: tensor<?x4x?xf32>, %do: tensor<?x4x?x32xbf16>) {
  // expected-error@+1 {{'flash.linear_attention_grad' op gate mlstm_sig needs the forward's o and norm (saved(%o, %norm : ...)): the normaliser kinds read dO / den and dL/dN from them}}
  %dq, %dk, %dv, %di, %df = flash.linear_attention_grad %q, %k, %v, %do gate mlstm_sig gates(%i, %f : tensor<?x4x?xf32>, tensor<?x4x?xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x32xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16> gates(tensor<?x4x?xf32>, tensor<?x4x?xf32>)
  return
}

// -----

// ... and the other kinds do not.
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %g: tensor<?x4x?xf32>, %do: tensor<?x4x?x32xbf16>, %o: tensor<?x4x?x32xbf16>, %norm: tensor<?x4x?x2xf32>) {
  // expected-error@+1 {{'flash.linear_attention_grad' op gate decay does not read the forward's o and norm: only the normaliser kinds mlstm_sig and mlstm_exp take saved(%o, %norm : ...)}}
  %dq, %dk, %dv, %dg = flash.linear_attention_grad %q, %k, %v, %do gate decay saved(%o, %norm : tensor<?x4x?x32xbf16>, tensor<?x4x?x2xf32>) gates(%g : tensor<?x4x?xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x32xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16> gates(tensor<?x4x?xf32>)
  return
}

// -----

// o is the forward's output: do's type.
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %i: tensor<?x4x?xf32>, %f: tensor<?x4x?xf32>, %do: tensor<?x4x?x32xbf16>, %o: tensor<?x4x?x32xf16>, %norm: tensor<?x4x?x2xf32>) {
  // expected-error@+1 {{o has type 'tensor<?x4x?x32xf16>' and do 'tensor<?x4x?x32xbf16>': the forward's output and its gradient have one type}}
  %dq, %dk, %dv, %di, %df = flash.linear_attention_grad %q, %k, %v, %do gate mlstm_sig saved(%o, %norm : tensor<?x4x?x32xf16>, tensor<?x4x?x2xf32>) gates(%i, %f : tensor<?x4x?xf32>, tensor<?x4x?xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x32xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16> gates(tensor<?x4x?xf32>, tensor<?x4x?xf32>)
  return
}

// -----

// norm is [B, H, T, 2] f32 with do's B, H and T.
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %i: tensor<?x4x?xf32>, %f: tensor<?x4x?xf32>, %do: tensor<?x4x?x32xbf16>, %o: tensor<?x4x?x32xbf16>, %norm: tensor<?x2x?x2xf32>) {
  // expected-error@+1 {{norm has type 'tensor<?x2x?x2xf32>': the rows' normalisers are [B, H, T, 2] f32 (N_r, floor_r) with do's B, H and T}}
  %dq, %dk, %dv, %di, %df = flash.linear_attention_grad %q, %k, %v, %do gate mlstm_sig saved(%o, %norm : tensor<?x4x?x32xbf16>, tensor<?x2x?x2xf32>) gates(%i, %f : tensor<?x4x?xf32>, tensor<?x4x?xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x32xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16> gates(tensor<?x4x?xf32>, tensor<?x4x?xf32>)
  return
}
