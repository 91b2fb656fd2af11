// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// The rules of packed variable-length batches (flash.varlen_view and
// flash.varlen_pack, docs/semantics.md §2.9), one error per case, with the
// message a user sees.

func.func @packed_rank(%p: tensor<?x?x8x128xbf16>, %cu: tensor<?xi32>) -> tensor<?x8x?x128xbf16> {
  // expected-error@+1 {{'flash.varlen_view' op packed tensor has shape [?, ?, 8, 128]: a packed batch is [T, H, D]}}
  %q = flash.varlen_view %p[%cu] : tensor<?x?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  return %q : tensor<?x8x?x128xbf16>
}

// -----

func.func @dynamic_heads(%p: tensor<?x?x128xbf16>, %cu: tensor<?xi32>) -> tensor<?x?x?x128xbf16> {
  // expected-error@+1 {{packed dim 1 (head count) must be static, packed is [?, ?, 128]}}
  %q = flash.varlen_view %p[%cu] : tensor<?x?x128xbf16>, tensor<?xi32> -> tensor<?x?x?x128xbf16>
  return %q : tensor<?x?x?x128xbf16>
}

// -----

func.func @offsets_rank(%p: tensor<?x8x128xbf16>, %cu: tensor<?x?xi32>) -> tensor<?x8x?x128xbf16> {
  // expected-error@+1 {{cu_seqlens has shape [?, ?]: the offsets are [B + 1]}}
  %q = flash.varlen_view %p[%cu] : tensor<?x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
  return %q : tensor<?x8x?x128xbf16>
}

// -----

func.func @one_offset(%p: tensor<?x8x128xbf16>, %cu: tensor<1xi32>) -> tensor<0x8x?x128xbf16> {
  // expected-error@+1 {{cu_seqlens has 1 entries: B + 1 offsets need at least 2}}
  %q = flash.varlen_view %p[%cu] : tensor<?x8x128xbf16>, tensor<1xi32> -> tensor<0x8x?x128xbf16>
  return %q : tensor<0x8x?x128xbf16>
}

// -----

func.func @batch_mismatch(%p: tensor<?x8x128xbf16>, %cu: tensor<5xi32>) -> tensor<5x8x?x128xbf16> {
  // expected-error@+1 {{view has shape [5, 8, ?, 128], its dim 0 (cu_seqlens' entries - 1) must be 4}}
  %q = flash.varlen_view %p[%cu] : tensor<?x8x128xbf16>, tensor<5xi32> -> tensor<5x8x?x128xbf16>
  return %q : tensor<5x8x?x128xbf16>
}

// -----

func.func @static_length(%p: tensor<?x8x128xbf16>, %cu: tensor<?xi32>) -> tensor<?x8x64x128xbf16> {
  // expected-error@+1 {{view has shape [?, 8, 64, 128], its dim 2 (the longest sequence, given at launch) must be ?}}
  %q = flash.varlen_view %p[%cu] : tensor<?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x64x128xbf16>
  return %q : tensor<?x8x64x128xbf16>
}

// -----

func.func @view_not_attention(%p: tensor<?x8x128xbf16>, %cu: tensor<?xi32>) -> tensor<?x8x?x128xbf16> {
  // expected-error@+1 {{result is used by func.return: a varlen view is read only as the q, k or v of a flash.attention}}
  %q = flash.varlen_view %p[%cu] : tensor<?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  return %q : tensor<?x8x?x128xbf16>
}

// -----

func.func @k_only(%q: tensor<?x8x?x128xbf16>, %kp: tensor<?x8x128xbf16>,
                  %v: tensor<?x8x?x128xbf16>, %cu: tensor<?xi32>) -> tensor<?x8x?x128xbf16> {
  %k = flash.varlen_view %kp[%cu] : tensor<?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  // expected-error@+1 {{k is a varlen view and v is not: keys and values are packed together}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "M"]
      : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}

// -----

func.func @kv_offsets(%q: tensor<?x8x?x128xbf16>, %kp: tensor<?x8x128xbf16>,
                      %vp: tensor<?x8x128xbf16>, %c1: tensor<?xi32>, %c2: tensor<?xi32>)
    -> tensor<?x8x?x128xbf16> {
  %k = flash.varlen_view %kp[%c1] : tensor<?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  %v = flash.varlen_view %vp[%c2] : tensor<?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  // expected-error@+1 {{k and v are packed with different cu_seqlens: one set of offsets serves both}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "M"]
      : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}

// -----

func.func @unpacked_output(%qp: tensor<?x8x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                           %v: tensor<?x8x?x128xbf16>, %cu: tensor<?xi32>) -> tensor<?x8x?x128xbf16> {
  %q = flash.varlen_view %qp[%cu] : tensor<?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  // expected-error@+1 {{q is a varlen view, so the result (one row per packed query) must be used once, by a flash.varlen_pack with q's cu_seqlens}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "M"]
      : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}

// -----

func.func @pack_other_offsets(%qp: tensor<?x8x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                              %v: tensor<?x8x?x128xbf16>, %cu: tensor<?xi32>, %other: tensor<?xi32>)
    -> tensor<?x8x128xbf16> {
  %q = flash.varlen_view %qp[%cu] : tensor<?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  %o = flash.attention %q, %k, %v dims ["B", "N", "M"]
      : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  // expected-error@+1 {{packs with other cu_seqlens than the attention's q: the output rows are the query rows}}
  %out = flash.varlen_pack %o[%other] : tensor<?x8x?x128xbf16>, tensor<?xi32> -> tensor<?x8x128xbf16>
  return %out : tensor<?x8x128xbf16>
}

// -----

func.func @pack_plain(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                      %v: tensor<?x8x?x128xbf16>, %cu: tensor<?xi32>) -> tensor<?x8x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "M"]
      : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  // expected-error@+1 {{packs a value that is not the output of a flash.attention, flash.linear_attention or flash.delta_rule whose q is a flash.varlen_view}}
  %out = flash.varlen_pack %o[%cu] : tensor<?x8x?x128xbf16>, tensor<?xi32> -> tensor<?x8x128xbf16>
  return %out : tensor<?x8x128xbf16>
}

// -----

func.func @reserved(%qp: tensor<?x8x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                    %v: tensor<?x8x?x128xbf16>, %cu: tensor<?xi32>, %m: tensor<i32>) -> tensor<?x8x128xbf16> {
  %q = flash.varlen_view %qp[%cu] : tensor<?x8x128xbf16>, tensor<?xi32> -> tensor<?x8x?x128xbf16>
  // expected-error@+1 {{extra #0 is named "max_seqlen_q", which names one of the op's own tensors or dims}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "M"]
      extras(%m : tensor<i32>) names ["max_seqlen_q"] extra_dims [[]]
      : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x128xbf16>
  %out = flash.varlen_pack %o[%cu] : tensor<?x8x?x128xbf16>, tensor<?xi32> -> tensor<?x8x128xbf16>
  return %out : tensor<?x8x128xbf16>
}

// -----

// Packed recurrences (docs/semantics.md §3.5): q, k, v and the gates packed
// alike through one cu_seqlens, the output packed back.

func.func @linear_mixed(%qp: tensor<?x2x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                        %v: tensor<?x2x?x64xbf16>, %cu: tensor<?xi32>) -> tensor<?x2x64xbf16> {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  // expected-error@+1 {{q is a varlen view and k is not: a packed recurrence packs q, k, v and its gates alike}}
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  %out = flash.varlen_pack %o[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  return %out : tensor<?x2x64xbf16>
}

// -----

func.func @linear_gate_offsets(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>,
                               %vp: tensor<?x2x64xbf16>, %gp: tensor<?x2xf32>,
                               %cu: tensor<?xi32>, %other: tensor<?xi32>) -> tensor<?x2x64xbf16> {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %g = flash.varlen_view %gp[%other] : tensor<?x2xf32>, tensor<?xi32> -> tensor<?x2x?xf32>
  // expected-error@+1 {{gate operand #0 is packed with other cu_seqlens than q: one set of offsets serves every operand}}
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x2x?xf32>) dims ["B", "T"]
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  %out = flash.varlen_pack %o[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  return %out : tensor<?x2x64xbf16>
}

// -----

func.func @linear_unpacked_output(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>,
                                  %vp: tensor<?x2x64xbf16>, %cu: tensor<?xi32>) -> tensor<?x2x?x64xbf16> {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  // expected-error@+1 {{q is a varlen view, so the output (one row per packed step) must be used once, by a flash.varlen_pack with q's cu_seqlens}}
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

// The delta rule packs q, k, v, beta and its log-decay alike.

func.func @delta_unpacked_beta(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>,
                               %vp: tensor<?x2x64xbf16>, %beta: tensor<?x2x?xbf16>,
                               %cu: tensor<?xi32>) -> tensor<?x2x64xbf16> {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  // expected-error@+1 {{q is a varlen view and beta is not: a packed recurrence packs q, k, v and its gates alike}}
  %o = flash.delta_rule %q, %k, %v, %beta dims ["B", "T"]
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?xbf16>
      -> tensor<?x2x?x64xbf16>
  %out = flash.varlen_pack %o[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  return %out : tensor<?x2x64xbf16>
}

// -----

func.func @delta_decay_offsets(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>,
                               %vp: tensor<?x2x64xbf16>, %bp: tensor<?x2xbf16>, %gp: tensor<?x2xf32>,
                               %cu: tensor<?xi32>, %other: tensor<?xi32>) -> tensor<?x2x64xbf16> {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %b = flash.varlen_view %bp[%cu] : tensor<?x2xbf16>, tensor<?xi32> -> tensor<?x2x?xbf16>
  %g = flash.varlen_view %gp[%other] : tensor<?x2xf32>, tensor<?xi32> -> tensor<?x2x?xf32>
  // expected-error@+1 {{the log-decay is packed with other cu_seqlens than q: one set of offsets serves every operand}}
  %o = flash.delta_rule %q, %k, %v, %b decay(%g : tensor<?x2x?xf32>) dims ["B", "T"]
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?xbf16>
      -> tensor<?x2x?x64xbf16>
  %out = flash.varlen_pack %o[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  return %out : tensor<?x2x64xbf16>
}
