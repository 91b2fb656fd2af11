// Rotary embedding on part of the head (GPT-NeoX's rotary_pct: R = 32 of
// D = 64 dims turn), GPT-J's interleaved pairs, and one table per sequence
// [B, M, 16] (positions of each sequence's own cache), under GQA 8/2 and a
// causal mask with N <= M. RotaryEmuTest.cpp runs its flash_decode and
// flash2 kernels (test/unit/device/CMakeLists.txt).
func.func @rope_partial_gqa(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                            %v: tensor<?x2x?x64xbf16>, %cos: tensor<?x?x16xf32>,
                            %sin: tensor<?x?x16xf32>) -> tensor<?x8x?x64xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "M"]
      extras(%cos, %sin : tensor<?x?x16xf32>, tensor<?x?x16xf32>) names ["cos", "sin"]
      extra_dims [["B", "M"], ["B", "M"]]
      rotary interleaved tables ["cos", "sin"]
      : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}
