// Bad input never crashes flashgen-opt: every negative case fails cleanly
// (`not` without --crash fails the test on a signal), and so does every
// truncated prefix of every example spec.
//
// RUN: not flashgen-opt %S/invalid.mlir -split-input-file -mlir-print-op-on-diagnostic=false 2> %t.invalid
// RUN: grep ": error: " %t.invalid | grep -vc "expected error" | FileCheck %s --check-prefix=INVALID
// INVALID: {{^}}37{{$}}
// RUN: not flashgen-opt %S/parse-errors.mlir -split-input-file -mlir-print-op-on-diagnostic=false 2> %t.parse
// RUN: grep ": error: " %t.parse | grep -vc "expected error" | FileCheck %s --check-prefix=PARSE
// PARSE: {{^}}7{{$}}
// RUN: %S/Inputs/truncate-examples.sh %examples flashgen-opt | FileCheck %s --check-prefix=TRUNC
// TRUNC: crashes: 0
