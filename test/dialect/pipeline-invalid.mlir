// RUN: flashgen-opt %s -split-input-file -verify-diagnostics

// The verifiers of the warp-specialized ops (dialect/FlashPipelineOps.cpp):
// one case per message. flash-warp-specialize never builds these; they stop
// hand-written or damaged IR before the emitter prints a kernel that would
// deadlock or not launch.

// A warp split needs a flash3 schedule.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  // expected-error@+1 {{'flash.warp_specialize' op needs a flash3 schedule, not flash2}}
  flash.warp_specialize consumer_groups 1 producer_registers 0 consumer_registers 0 producer {
    flash.pipe_drain
  } consumers {
    flash.turn_open
  }
}

// -----

// The consumer warpgroups and the schedule's warps must agree.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  // expected-error@+1 {{'flash.warp_specialize' op has 1 consumer warpgroup(s) but the schedule has 12 warps; a producer kernel has 4 per consumer warpgroup plus 4 for the producer}}
  flash.warp_specialize consumer_groups 1 producer_registers 0 consumer_registers 0 producer {
    flash.pipe_drain
  } consumers {
    flash.turn_open
  }
}

// -----

// setmaxnreg takes multiples of 8 from 24 to 256.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  // expected-error@+1 {{'flash.warp_specialize' op producer_registers = 20 is not a setmaxnreg budget (0, or 24 to 256 in steps of 8)}}
  flash.warp_specialize consumer_groups 2 producer_registers 20 consumer_registers 240 producer {
    flash.pipe_drain
  } consumers {
    flash.turn_open
  }
}

// -----

// Budgets beyond the CTA's pool would make setmaxnreg.inc wait forever.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  // expected-error@+1 {{'flash.warp_specialize' op budgets need 67584 registers; the CTA has 64512}}
  flash.warp_specialize consumer_groups 2 producer_registers 32 consumer_registers 248 producer {
    flash.pipe_drain
  } consumers {
    flash.turn_open
  }
}

// -----

// Nothing follows the split.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  // expected-error@+1 {{'flash.warp_specialize' op must be the last op of its kernel: the warpgroups never meet again}}
  flash.warp_specialize consumer_groups 2 producer_registers 24 consumer_registers 240 producer {
    flash.pipe_drain
  } consumers {
    flash.turn_open
  }
  flash.barrier
}

// -----

// Copies are the producer's.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  flash.warp_specialize consumer_groups 2 producer_registers 24 consumer_registers 240 producer {
    flash.pipe_drain
  } consumers {
    // expected-error@+1 {{'flash.pipe_produce' op must be inside the producer region of a flash.warp_specialize, not its consumers region}}
    flash.pipe_produce k [%ids#2, %ids#1, %ids#0] rows 128 extent %ids#0 slot %ids#0
  }
}

// -----

// Waits, releases, turns and products are the consumers'.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  flash.warp_specialize consumer_groups 2 producer_registers 24 consumer_registers 240 producer {
    // expected-error@+1 {{'flash.pipe_wait' op must be inside the consumers region of a flash.warp_specialize, not its producer region}}
    flash.pipe_wait k %ids#0
  } consumers {
    flash.turn_open
  }
}

// -----

// Rings are named by the tensor they hold: q, k or v; g and o have none.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  flash.warp_specialize consumer_groups 2 producer_registers 24 consumer_registers 240 producer {
    // expected-error@+1 {{'flash.pipe_produce' op ring o is not one of q, k, v: only those tensors have rings}}
    flash.pipe_produce o [%ids#2, %ids#1, %ids#0] rows 128 extent %ids#0 slot %ids#0
  } consumers {
    flash.turn_open
  }
}

// -----

flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  flash.warp_specialize consumer_groups 2 producer_registers 24 consumer_registers 240 producer {
    flash.pipe_drain
  } consumers {
    // expected-error@+1 {{'flash.pipe_wait' op ring g is not one of q, k, v: only those tensors have rings}}
    flash.pipe_wait g %ids#0
  }
}

// -----

flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  flash.warp_specialize consumer_groups 2 producer_registers 24 consumer_registers 240 producer {
    flash.pipe_drain
  } consumers {
    // expected-error@+1 {{'flash.pipe_release' op ring o is not one of q, k, v: only those tensors have rings}}
    flash.pipe_release o %ids#0
  }
}

// -----

flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  // expected-error@+1 {{'flash.turn_wait' op must be inside the consumers region of a flash.warp_specialize}}
  flash.turn_wait
}

// -----

// An async product outside a warp split.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  // expected-error@+1 {{'flash.tile_mma' op async products are issued by the consumers of a flash.warp_specialize (flash3)}}
  flash.tile_mma qk stage %ids#0 async
}

// -----

// wgmma.wait_group counts 0 to 7 groups.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  flash.warp_specialize consumer_groups 2 producer_registers 24 consumer_registers 240 producer {
    flash.pipe_drain
  } consumers {
    // expected-error@+1 {{'flash.mma_wait' op pending = 9; wgmma.wait_group takes 0 to 7}}
    flash.mma_wait 9 score
  }
}

// -----

// A persistent loop's body: one index per role, the round, the last-round flag, the carry.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %c0 = arith.constant 0 : index
  flash.warp_specialize consumer_groups 2 producer_registers 24 consumer_registers 240 producer {
    // expected-error@+1 {{'flash.tile_rounds' op body takes one index per role, then the round (index), the last-round flag (i1) and the carried key-tile count (index)}}
    flash.tile_rounds ["query_tile"] extents ["4"] carry %c0 {
    ^bb0(%t: index, %r: index, %c: index):
      flash.rounds_yield %c
    }
  } consumers {
    flash.turn_open
  }
}

// -----

// A kernel with persistent loops has no grid map.
// expected-error@+1 {{'flash.kernel' op has 1 flash.grid_map ops in its body; a kernel has exactly one, or none when flash.tile_rounds loops or flash.chunk_rounds give the tiles}}
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  flash.warp_specialize consumer_groups 2 producer_registers 24 consumer_registers 240 producer {
    flash.tile_rounds ["query_tile"] extents ["4"] carry %c0 {
    ^bb0(%t: index, %r: index, %last: i1, %c: index):
      flash.rounds_yield %c
    }
  } consumers {
    flash.turn_open
  }
}
