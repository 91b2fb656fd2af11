// Every example spec parses, verifies and round-trips unchanged.
// RUN: for f in %examples/*.mlir; do flashgen-opt $f | flashgen-opt > /dev/null || exit 1; done
// RUN: flashgen-opt %examples/causal_gqa.mlir | FileCheck %s --check-prefix=GQA
// GQA: flash.attention {{.*}} mask causal dims ["B", "N", "N"] : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>
// RUN: flashgen-opt %examples/mlstm.mlir | FileCheck %s --check-prefix=MLSTM
// MLSTM: flash.linear_attention {{.*}} gate mlstm_exp gates(
