// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// Rotary embedding (docs/semantics.md §2.12): `rotary STYLE tables [cos,
// sin]` names two f32 extras [P, R/2] or [B, P, R/2] of one type, R even,
// at most the head dim and whole 16-byte chunks per rotated half. One
// error per case.

func.func @table_not_an_extra(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>,
                              %c: tensor<?x32xf32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{rotary table "sin" is not one of the op's extras}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      extras(%c : tensor<?x32xf32>) names ["cos"] extra_dims [["N"]]
      rotary half tables ["cos", "sin"]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @same_table_twice(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>,
                            %c: tensor<?x32xf32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{rotary tables name "cos" twice: cos and sin are two extras}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      extras(%c : tensor<?x32xf32>) names ["cos"] extra_dims [["N"]]
      rotary half tables ["cos", "cos"]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @three_tables(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>,
                        %c: tensor<?x32xf32>, %s: tensor<?x32xf32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{rotary tables names 3 extras: it takes two, [cos, sin]}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      extras(%c, %s : tensor<?x32xf32>, tensor<?x32xf32>) names ["cos", "sin"] extra_dims [["N"], ["N"]]
      rotary half tables ["cos", "sin", "cos"]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @types_differ(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>,
                        %c: tensor<?x32xf32>, %s: tensor<?x16xf32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{rotary tables have types 'tensor<?x32xf32>' and 'tensor<?x16xf32>': cos and sin must match}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      extras(%c, %s : tensor<?x32xf32>, tensor<?x16xf32>) names ["cos", "sin"] extra_dims [["N"], ["N"]]
      rotary half tables ["cos", "sin"]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @integer_tables(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>,
                          %c: tensor<?x32xi32>, %s: tensor<?x32xi32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{rotary table "cos" has element type 'i32': the tables are f32}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      extras(%c, %s : tensor<?x32xi32>, tensor<?x32xi32>) names ["cos", "sin"] extra_dims [["N"], ["N"]]
      rotary half tables ["cos", "sin"]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @rank_one(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>,
                    %c: tensor<32xf32>, %s: tensor<32xf32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{rotary table "cos" has rank 1: the tables are [P, R/2] or [B, P, R/2]}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      extras(%c, %s : tensor<32xf32>, tensor<32xf32>) names ["cos", "sin"] extra_dims [[], []]
      rotary half tables ["cos", "sin"]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @more_than_the_head(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>,
                              %c: tensor<?x64xf32>, %s: tensor<?x64xf32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{rotary tables rotate R = 128 dims, more than the head dim 64}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      extras(%c, %s : tensor<?x64xf32>, tensor<?x64xf32>) names ["cos", "sin"] extra_dims [["N"], ["N"]]
      rotary half tables ["cos", "sin"]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @half_of_a_chunk(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>,
                           %c: tensor<?x4xf32>, %s: tensor<?x4xf32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{rotary half rotates R = 8 dims: R must be a multiple of 16 (the kernels rotate whole 16-byte chunks of 8 elements in each half)}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      extras(%c, %s : tensor<?x4xf32>, tensor<?x4xf32>) names ["cos", "sin"] extra_dims [["N"], ["N"]]
      rotary half tables ["cos", "sin"]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @dynamic_angles(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>,
                          %c: tensor<?x?xf32>, %s: tensor<?x?xf32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{rotary table "cos" needs a static last dim R/2 (the rotated pairs), got 'tensor<?x?xf32>'}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"]
      extras(%c, %s : tensor<?x?xf32>, tensor<?x?xf32>) names ["cos", "sin"] extra_dims [["N", "B"], ["N", "B"]]
      rotary half tables ["cos", "sin"]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}
