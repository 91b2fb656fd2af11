// Runtime test fixture: a header included by another header, by its full
// bundle path (NVRTC resolves embedded headers by exact name).
#pragma once
typedef long long fixture_index_t;
