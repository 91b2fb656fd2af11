// GPU test spec: xLSTM's mLSTM (mlstm_exp, max-stabilised) over packed
// sequences (cu_seqlens) with C, n and m in and out per sequence and Dk !=
// Dv (4 heads of 64 / 128), so its backward (flash-derive-backward) runs
// the packed rows kernel, state passes (the chunk stabilisers and the
// carried stabiliser gradients per sequence) and chunk kernel.
func.func @exp_varlen(%qp: tensor<?x4x64xbf16>, %kp: tensor<?x4x64xbf16>,
                      %vp: tensor<?x4x128xbf16>, %ip: tensor<?x4xf32>,
                      %fp: tensor<?x4xf32>, %cu: tensor<?xi32>,
                      %c0: tensor<?x4x64x128xf32>, %n0: tensor<?x4x64xf32>,
                      %m0: tensor<?x4xf32>)
    -> (tensor<?x4x128xbf16>, tensor<?x4x64x128xf32>, tensor<?x4x64xf32>, tensor<?x4xf32>) {
  %q = flash.varlen_view %qp[%cu] : tensor<?x4x64xbf16>, tensor<?xi32> -> tensor<?x4x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x4x64xbf16>, tensor<?xi32> -> tensor<?x4x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x4x128xbf16>, tensor<?xi32> -> tensor<?x4x?x128xbf16>
  %i = flash.varlen_view %ip[%cu] : tensor<?x4xf32>, tensor<?xi32> -> tensor<?x4x?xf32>
  %f = flash.varlen_view %fp[%cu] : tensor<?x4xf32>, tensor<?xi32> -> tensor<?x4x?xf32>
  %o, %c, %n, %m = flash.linear_attention %q, %k, %v gate mlstm_exp
      gates(%i, %f : tensor<?x4x?xf32>, tensor<?x4x?xf32>)
      initial(%c0, %n0, %m0 : tensor<?x4x64x128xf32>, tensor<?x4x64xf32>, tensor<?x4xf32>)
      return_final_state dims ["B", "T"]
      : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x128xbf16>
      -> tensor<?x4x?x128xbf16>, tensor<?x4x64x128xf32>, tensor<?x4x64xf32>, tensor<?x4xf32>
  %out = flash.varlen_pack %o[%cu] : tensor<?x4x?x128xbf16>, tensor<?xi32> -> tensor<?x4x128xbf16>
  return %out, %c, %n, %m : tensor<?x4x128xbf16>, tensor<?x4x64x128xf32>, tensor<?x4x64xf32>, tensor<?x4xf32>
}
