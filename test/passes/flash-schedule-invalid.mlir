// RUN: flashgen-opt %s -split-input-file -flash-schedule="target=sm_90 dims=B=1,N=1024" -verify-diagnostics

// f32 inputs have no 16-bit tensor-core path.
func.func @f32(%q: tensor<1x1x1024x64xf32>) -> tensor<1x1x1024x64xf32> {
  // expected-error@+1 {{no flash2 schedule on sm_90 for B=1 Hq=1 Hkv=1 N=1024 M=1024 D=64 Dv=64 none, 4-byte elements: flashgen's attention kernels take 16-bit inputs}}
  %o = flash.attention %q, %q, %q : tensor<1x1x1024x64xf32>, tensor<1x1x1024x64xf32>, tensor<1x1x1024x64xf32> -> tensor<1x1x1024x64xf32>
  return %o : tensor<1x1x1024x64xf32>
}

// -----

// An unbound dimension names itself.
func.func @unbound(%q: tensor<1x1x?x64xbf16>) -> tensor<1x1x?x64xbf16> {
  // expected-error@+1 {{dimension M (key sequence length of flash.attention at}}
  %o = flash.attention %q, %q, %q dims ["B", "N", "M"] : tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16>, tensor<1x1x?x64xbf16> -> tensor<1x1x?x64xbf16>
  return %o : tensor<1x1x?x64xbf16>
}

// -----

// The chunkwise kernels give each warp 16 rows of a power-of-two Dk; the
// step kernel, which takes Dk = 96, needs value tiles of 8 or more columns.
// Each family's reason is given.
func.func @odd_key_dim(%q: tensor<1x1x1024x96xbf16>, %v: tensor<1x1x1024x60xbf16>) -> tensor<1x1x1024x60xbf16> {
  // expected-error@+1 {{Dk = 96 must be a power of two of at least 16 (16 state rows per warp); and no recurrent_step schedule on sm_90 for B=1 H=1 T=1024 Dk=96 Dv=60 gate none, 2-byte elements: Dv = 60 must be a multiple of 8}}
  %o = flash.linear_attention %q, %q, %v : tensor<1x1x1024x96xbf16>, tensor<1x1x1024x96xbf16>, tensor<1x1x1024x60xbf16> -> tensor<1x1x1024x60xbf16>
  return %o : tensor<1x1x1024x60xbf16>
}
