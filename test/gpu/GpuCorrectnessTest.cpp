//===- GpuCorrectnessTest.cpp - generated kernels against the float64 reference ===//
//
// For every case in $FLASHGEN_GPU_CASES (cases.json written by
// scripts/prepare-gpu-tests.sh) and every layout of StridedLayout.h
// (contiguous [B, H, N, D]; [B, N, H, D] through transposed strides; rows
// and batches padded with gaps): load the bundle, compile each variant for
// this GPU, place the inputs flashgen-ref drew in buffers of that layout,
// poison every output buffer with NaN bytes, launch with the layout's
// strides, and compare each output view with the float64 reference by
// ||out - ref|| / ||ref|| (binding and comparison are flashgen-run's too:
// runtime/tools/ReferenceCheck.h). NaN never passes; every output element must have
// been written, and every byte of an output buffer outside its view must
// still hold the poison. Input gaps hold NaN too, so a kernel that reads
// outside an input view turns its output NaN. Skips, saying why, without a
// GPU or without cases.
//
// GraphCapture launches each case's variant once more under CUDA-graph
// capture with a caller-sized workspace, and checks two replays.
//
// InPlace runs the kernels whose manifest lets an output be one input
// (may_alias: a recurrence's final state over its initial state) with the
// two in one buffer, as a decoder keeps its state.
//
// StridedBinding needs no GPU: it checks that the runtime accepts every
// layout for every variant of every case, and refuses with a clear message
// a view whose last dim is not contiguous where the kernels assume it is;
// the recurrences' [B, H, T] gates (strided_last_dim) are read through
// that stride, so the [B, N, H, D] layout stores them time-major ([B, T,
// H]) and the binding takes them.
//
//===----------------------------------------------------------------------===//

#include "test/gpu/GpuCase.h"
#include "runtime/tools/ReferenceCheck.h"
#include "runtime/tools/StridedLayout.h"

#include "flashgen/runtime.h"
#include "reference/Npy.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

using namespace flashgen;
using namespace flashgen::gputest;
using namespace flashgen::refcheck;
namespace ref = flashgen::reference;

namespace {

std::vector<GpuCase> casesFromEnvironment() {
  const char *path = std::getenv("FLASHGEN_GPU_CASES");
  if (!path || !*path || !std::ifstream(path).good())
    return {};
  try {
    return loadCases(path);
  } catch (const std::exception &error) {
    ADD_FAILURE() << error.what();
    return {};
  }
}

/// Read once: both suites and the environment check share it.
const std::vector<GpuCase> &environmentCases() {
  static const std::vector<GpuCase> cases = casesFromEnvironment();
  return cases;
}

/// A device buffer freed on scope exit.
struct DeviceBuffer {
  void *ptr = nullptr;
  size_t bytes = 0;
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  ~DeviceBuffer() {
    if (ptr)
      cudaFree(ptr);
  }
};

std::shared_ptr<Device> openDevice(std::string &why) {
  std::shared_ptr<Device> device;
  Status status = Device::open(0, device);
  if (!status.ok()) {
    why = status.toString();
    return nullptr;
  }
  return device;
}

/// The case's tensors in the kernel's param order (refcheck::planOperands);
/// a failure to bind is a (non-fatal) test failure.
bool planOperands(const GpuCase &c, const std::vector<Kernel::ParamInfo> &params,
                  Layout layout, std::vector<Operand> &out) {
  std::string error;
  if (refcheck::planOperands(c.tensors, params, layout, out, error))
    return true;
  ADD_FAILURE() << c.label << ": " << error;
  return false;
}

std::string testName(std::string name) {
  for (char &ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)))
      ch = '_';
  return name;
}

TEST(GpuEnvironment, HasGpuAndCases) {
  std::string why;
  if (!openDevice(why))
    GTEST_SKIP() << "no GPU: " << why
                 << " (GPU tests run on the lent H100; see README)";
  if (environmentCases().empty())
    GTEST_SKIP() << "FLASHGEN_GPU_CASES is not set or lists no case: run "
                    "scripts/prepare-gpu-tests.sh on a machine with LLVM first";
}

struct LayoutCase {
  GpuCase c;
  Layout layout;
};

// gtest prints a failing test's parameter: its label, not its bytes.
void PrintTo(const LayoutCase &param, std::ostream *out) {
  *out << param.c.label << " (" << layoutName(param.layout) << ")";
}

std::vector<LayoutCase> layoutCases() {
  std::vector<LayoutCase> out;
  for (const GpuCase &c : environmentCases())
    for (Layout layout : kAllLayouts)
      out.push_back({c, layout});
  return out;
}

class GpuCorrectness : public ::testing::TestWithParam<LayoutCase> {};

/// A case's operands in device buffers of one layout: inputs hold the
/// reference files' elements at the layout's places and NaN in its gaps.
struct CaseBuffers {
  std::vector<Kernel::ParamInfo> params;
  std::vector<Operand> operands;
  std::vector<ScalarArg> scalars;
  std::vector<DeviceBuffer> buffers;
  std::vector<TensorArg> args;
};

/// Fills `out` for `kernel`; fatal failures return early (ASSERT_*), so
/// callers check HasFatalFailure().
void prepareBuffers(const GpuCase &c, Kernel &kernel, Layout layout,
                    CaseBuffers &out) {
  out.params = kernel.params();
  ASSERT_TRUE(planOperands(c, out.params, layout, out.operands));
  std::string scalarError;
  ASSERT_TRUE(refcheck::planScalars(c.scalars, kernel.scalars(), out.scalars,
                                    scalarError))
      << scalarError;
  out.buffers = std::vector<DeviceBuffer>(out.params.size());
  out.args.assign(out.params.size(), TensorArg{});
  for (size_t p = 0; p < out.params.size(); ++p) {
    const Operand &op = out.operands[p];
    if (!op.file) { // an absent optional param
      out.args[p] = op.arg(nullptr);
      continue;
    }
    out.buffers[p].bytes = op.bufferBytes();
    ASSERT_EQ(cudaMalloc(&out.buffers[p].ptr, out.buffers[p].bytes), cudaSuccess);
    if (!op.output) {
      ref::NpyArray array = ref::readNpy(c.reference + "/" + op.file->file);
      std::vector<uint8_t> host =
          scatter(op.layout, array.bytes, op.elementBytes, kPoison);
      ASSERT_EQ(cudaMemcpy(out.buffers[p].ptr, host.data(), host.size(),
                           cudaMemcpyHostToDevice),
                cudaSuccess)
          << op.file->file;
    }
    out.args[p] = op.arg(out.buffers[p].ptr);
  }
}

/// The case's kernel from its bundle, prepared on GPU 0; skips without a
/// GPU, and fatal failures return early (ASSERT_*), so callers check
/// IsSkipped() and HasFatalFailure().
void openKernel(const GpuCase &c, std::unique_ptr<Kernel> &kernel) {
  std::string why;
  std::shared_ptr<Device> device = openDevice(why);
  if (!device)
    GTEST_SKIP() << "no GPU: " << why;
  std::shared_ptr<Bundle> bundle;
  Status status = Bundle::load(c.bundle, bundle);
  ASSERT_TRUE(status.ok()) << status.toString();
  status = bundle->getKernel(c.kernel, device, kernel);
  ASSERT_TRUE(status.ok()) << status.toString();
}

/// Every output buffer, view and gaps, set to the poison bytes.
void poisonOutputs(CaseBuffers &b) {
  for (size_t p = 0; p < b.params.size(); ++p)
    if (b.operands[p].file && b.operands[p].output) {
      ASSERT_EQ(cudaMemset(b.buffers[p].ptr, kPoison, b.buffers[p].bytes),
                cudaSuccess);
    }
}

/// Each output view against the float64 reference: no NaN, no gap written,
/// infinities where the reference has them, relative error in tolerance.
void expectOutputsMatch(const GpuCase &c, const CaseBuffers &b, Layout layout,
                        const std::string &label, int variant) {
  for (size_t p = 0; p < b.params.size(); ++p) {
    const Operand &op = b.operands[p];
    if (!op.file || !op.output)
      continue;
    const TensorFile &file = *op.file;
    std::vector<uint8_t> buffer(b.buffers[p].bytes);
    ASSERT_EQ(cudaMemcpy(buffer.data(), b.buffers[p].ptr, buffer.size(),
                         cudaMemcpyDeviceToHost),
              cudaSuccess);
    ref::Tensor<double> expected =
        ref::readNpyAsDouble(c.reference + "/" + file.file);
    std::vector<double> got =
        asDoubles(gather(op.layout, buffer, op.elementBytes), op.dtype);
    ASSERT_EQ(got.size(), size_t(expected.size())) << file.name;
    GapCheck gaps = checkGaps(op.layout, buffer, op.elementBytes, kPoison);
    Comparison cmp = compare(got, expected.values(), toleranceFor(file));
    const size_t nans = cmp.nans, infMismatches = cmp.infMismatches;
    const double rel = cmp.relError, maxAbs = cmp.maxAbs;
    std::printf("[gpu-case] %s variant %d output %s: rel_err %.3e max_abs "
                "%.3e nan %zu gap_writes %zu\n",
                label.c_str(), variant, file.name.c_str(), rel, maxAbs, nans,
                gaps.clobbered);
    EXPECT_EQ(nans, 0u)
        << file.name << ": " << nans << " elements NaN (unwritten or invalid"
        << (layout == Layout::Contiguous
                ? ""
                : "; this layout's input gaps hold NaN, so a read outside "
                  "an input view also ends here")
        << ")";
    EXPECT_EQ(gaps.clobbered, 0u)
        << file.name << ": " << gaps.clobbered << " of " << gaps.gapBytes
        << " bytes outside the output view were written (first at byte "
        << gaps.firstByte << " of the buffer; strides "
        << ::testing::PrintToString(op.layout.strides) << ", view at element "
        << op.layout.offset << ")";
    EXPECT_EQ(infMismatches, 0u)
        << file.name << ": " << infMismatches
        << " elements infinite in one of result and reference only";
    EXPECT_LT(rel, cmp.tolerance) << file.name;
  }
}

TEST_P(GpuCorrectness, MatchesReference) {
  const GpuCase &c = GetParam().c;
  const Layout layout = GetParam().layout;
  const std::string label = c.label + "/" + layoutName(layout);
  std::unique_ptr<Kernel> kernel;
  openKernel(c, kernel);
  if (IsSkipped() || HasFatalFailure())
    return;
  Status status;
  CaseBuffers b;
  prepareBuffers(c, *kernel, layout, b);
  if (HasFatalFailure())
    return;

  int first = c.variant < 0 ? 0 : c.variant;
  int last = c.variant < 0 ? kernel->numVariants() - 1 : c.variant;
  for (int variant = first; variant <= last; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    status = kernel->selectVariant(variant);
    ASSERT_TRUE(status.ok()) << status.toString();
    poisonOutputs(b);
    status = kernel->launch(b.args, b.scalars, LaunchOptions{});
    ASSERT_TRUE(status.ok()) << status.toString();
    cudaError_t error = cudaDeviceSynchronize();
    ASSERT_EQ(error, cudaSuccess) << cudaGetErrorString(error);
    expectOutputsMatch(c, b, layout, label, variant);
  }
}

/// Serving engines capture a decode step into a CUDA graph once and replay
/// it every token: the launch must make no host synchronisation and no
/// allocation, with a workspace the caller sized ahead of time
/// (Kernel::workspaceBytes). The case's variant (the first choice unless it
/// names one) is captured in global mode (which fails on any such call) and
/// replayed twice, the outputs poisoned before each replay.
class GraphCapture : public ::testing::TestWithParam<GpuCase> {};

TEST_P(GraphCapture, ReplaysMatchReference) {
  const GpuCase &c = GetParam();
  std::unique_ptr<Kernel> kernel;
  openKernel(c, kernel);
  if (IsSkipped() || HasFatalFailure())
    return;
  const int variant = c.variant < 0 ? 0 : c.variant;
  Status status = kernel->selectVariant(variant);
  ASSERT_TRUE(status.ok()) << status.toString();
  CaseBuffers b;
  prepareBuffers(c, *kernel, Layout::Contiguous, b);
  if (HasFatalFailure())
    return;

  size_t workspaceBytes = 0;
  status = kernel->workspaceBytes(b.args.data(), b.args.size(),
                                  b.scalars.data(), b.scalars.size(),
                                  workspaceBytes);
  ASSERT_TRUE(status.ok()) << status.toString();
  DeviceBuffer workspace;
  workspace.bytes = workspaceBytes;
  if (workspaceBytes > 0)
    ASSERT_EQ(cudaMalloc(&workspace.ptr, workspaceBytes), cudaSuccess);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  LaunchOptions options;
  options.stream = stream;
  options.workspace = workspace.ptr;
  options.workspaceBytes = workspaceBytes;

  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal),
            cudaSuccess);
  status = kernel->launch(b.args, b.scalars, options);
  cudaError_t captured = cudaStreamEndCapture(stream, &graph);
  ASSERT_TRUE(status.ok()) << "launch under capture: " << status.toString();
  ASSERT_EQ(captured, cudaSuccess) << cudaGetErrorString(captured);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  for (int replay = 0; replay < 2; ++replay) {
    SCOPED_TRACE("replay " + std::to_string(replay));
    poisonOutputs(b);
    ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
    cudaError_t error = cudaStreamSynchronize(stream);
    ASSERT_EQ(error, cudaSuccess) << cudaGetErrorString(error);
    expectOutputsMatch(c, b, Layout::Contiguous, c.label + "/graph", variant);
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

/// Decoders keep one state buffer: an output the manifest lets be an input
/// (may_alias: a recurrence's final state over its initial state) is run
/// as that input's own buffer, holding the input's values at launch, and
/// must come out as the reference's output. Every variant; cases whose
/// kernel has no such pair, or no data for its input, are skipped.
class InPlace : public ::testing::TestWithParam<GpuCase> {};

TEST_P(InPlace, AliasedStateMatchesReference) {
  const GpuCase &c = GetParam();
  std::unique_ptr<Kernel> kernel;
  openKernel(c, kernel);
  if (IsSkipped() || HasFatalFailure())
    return;
  CaseBuffers b;
  prepareBuffers(c, *kernel, Layout::Contiguous, b);
  if (HasFatalFailure())
    return;
  std::vector<std::pair<size_t, size_t>> pairs; // (output, input)
  for (size_t p = 0; p < b.params.size(); ++p) {
    int j = b.params[p].mayAlias;
    if (j >= 0 && b.operands[p].file && b.operands[size_t(j)].file)
      pairs.emplace_back(p, size_t(j));
  }
  if (pairs.empty())
    GTEST_SKIP() << c.kernel << " has no output that may be one of its inputs";
  int first = c.variant < 0 ? 0 : c.variant;
  int last = c.variant < 0 ? kernel->numVariants() - 1 : c.variant;
  for (int variant = first; variant <= last; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    ASSERT_TRUE(kernel->selectVariant(variant).ok());
    poisonOutputs(b);
    for (auto [p, j] : pairs) {
      // The output's buffer holds the input's values and is passed as both.
      ASSERT_EQ(b.buffers[p].bytes, b.buffers[j].bytes);
      ASSERT_EQ(cudaMemcpy(b.buffers[p].ptr, b.buffers[j].ptr, b.buffers[p].bytes,
                           cudaMemcpyDeviceToDevice),
                cudaSuccess);
      b.args[j] = b.operands[j].arg(b.buffers[p].ptr);
    }
    Status status = kernel->launch(b.args, b.scalars, LaunchOptions{});
    ASSERT_TRUE(status.ok()) << status.toString();
    cudaError_t error = cudaDeviceSynchronize();
    ASSERT_EQ(error, cudaSuccess) << cudaGetErrorString(error);
    expectOutputsMatch(c, b, Layout::Contiguous, c.label + "/in-place", variant);
    for (auto [p, j] : pairs)
      b.args[j] = b.operands[j].arg(b.buffers[j].ptr);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, InPlace, ::testing::ValuesIn(environmentCases()),
                         [](const ::testing::TestParamInfo<GpuCase> &info) {
                           return testName(info.param.label);
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(InPlace);

INSTANTIATE_TEST_SUITE_P(Cases, GraphCapture,
                         ::testing::ValuesIn(environmentCases()),
                         [](const ::testing::TestParamInfo<GpuCase> &info) {
                           return testName(info.param.label);
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GraphCapture);

INSTANTIATE_TEST_SUITE_P(Cases, GpuCorrectness,
                         ::testing::ValuesIn(layoutCases()),
                         [](const ::testing::TestParamInfo<LayoutCase> &info) {
                           return testName(info.param.c.label + "_" +
                                           layoutName(info.param.layout));
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GpuCorrectness);

// ---- Without a GPU: the runtime takes these layouts, refuses others ------

class StridedBinding : public ::testing::TestWithParam<GpuCase> {
protected:
  void SetUp() override {
    const GpuCase &c = GetParam();
    std::shared_ptr<Bundle> bundle;
    Status status = Bundle::load(c.bundle, bundle);
    ASSERT_TRUE(status.ok()) << status.toString();
    // No device: the kernel validates arguments but cannot launch.
    status = bundle->getKernel(c.kernel, nullptr, kernel);
    ASSERT_TRUE(status.ok()) << status.toString();
    params = kernel->params();
  }

  /// validate() with every operand in `layout`, then `edit` applied.
  template <class Edit> Status validate(Layout layout, Edit edit) {
    std::vector<Operand> operands;
    if (!planOperands(GetParam(), params, layout, operands))
      return Status(StatusCode::Internal, "no plan");
    std::vector<TensorArg> args = fakeArgs(operands);
    edit(operands, args);
    std::vector<ScalarArg> scalars;
    std::string error;
    if (!refcheck::planScalars(GetParam().scalars, kernel->scalars(), scalars,
                               error))
      return Status(StatusCode::Internal, error);
    return kernel->validate(args.data(), args.size(), scalars.data(),
                            scalars.size());
  }
  Status validate(Layout layout) {
    return validate(layout, [](auto &, auto &) {});
  }

  std::unique_ptr<Kernel> kernel;
  std::vector<Kernel::ParamInfo> params;
};

TEST_P(StridedBinding, RuntimeTakesEveryLayoutForEveryVariant) {
  int first = GetParam().variant < 0 ? 0 : GetParam().variant;
  int last = GetParam().variant < 0 ? kernel->numVariants() - 1
                                    : GetParam().variant;
  for (int variant = first; variant <= last; ++variant) {
    ASSERT_TRUE(kernel->selectVariant(variant).ok());
    for (Layout layout : kAllLayouts) {
      Status status = validate(layout);
      EXPECT_TRUE(status.ok()) << "variant " << variant << ", layout "
                               << layoutName(layout) << ": "
                               << status.toString();
    }
  }
}

TEST_P(StridedBinding, NonContiguousLastDimIsRefusedByName) {
  // Every other element of a twice-as-wide buffer: strides all doubled, the
  // last one 2. The kernels read rows as unit-stride vectors, so this is
  // the one view the runtime must refuse, naming the param.
  std::vector<Operand> plan;
  ASSERT_TRUE(planOperands(GetParam(), params, Layout::Contiguous, plan));
  size_t refused = 0;
  for (size_t p = 0; p < params.size(); ++p) {
    if (!plan[p].file)
      continue;
    std::vector<int64_t> strides = plan[p].layout.strides;
    for (int64_t &s : strides)
      s *= 2;
    Status status = validate(Layout::Contiguous, [&](auto &, auto &args) {
      args[p].strides = strides.data();
    });
    if (plan[p].layout.sizes.back() <= 1 || params[p].stridedLastDim) {
      // A last dim of one element may carry any stride, and so may a
      // strided_last_dim param's (docs/bundle-format.md).
      EXPECT_TRUE(status.ok()) << params[p].name << ": " << status.toString();
      continue;
    }
    EXPECT_EQ(status.code(), StatusCode::InvalidArgument) << params[p].name;
    EXPECT_EQ(status.message(),
              params[p].name + ": the last dim must be contiguous (stride 1), got "
                          "stride 2");
    ++refused;
  }
  EXPECT_GT(refused, 0u);
}

TEST_P(StridedBinding, BF16RowStrideOffSixteenBytesIsRefused) {
  // Rows D + 4 bf16 elements apart (8 bytes past 16-byte alignment), outer
  // strides rounded up to whole 16-byte units so the row stride is the one
  // at fault: the kernels' 16-byte row copies could not take it.
  size_t checked = 0;
  for (size_t p = 0; p < params.size(); ++p) {
    std::vector<int64_t> strides;
    int rowDim = -1;
    Status status = validate(Layout::Contiguous, [&](auto &operands, auto &args) {
      const TensorLayout &l = operands[p].layout;
      const int rank = int(l.sizes.size());
      // Only operands the kernel copies in 16-byte rows (the manifest's
      // stride_align); a [B, H, T] beta is read element by element.
      if (!operands[p].file || operands[p].dtype != DType::BF16 || rank < 2 ||
          l.sizes[rank - 2] < 2 || params[p].strideAlign < 8)
        return;
      rowDim = rank - 2;
      strides = l.strides;
      strides[rowDim] = l.sizes[rank - 1] + 4;
      for (int d = rowDim - 1; d >= 0; --d)
        strides[d] = (strides[d + 1] * l.sizes[d + 1] + 7) / 8 * 8;
      args[p].strides = strides.data();
    });
    if (rowDim < 0)
      continue;
    EXPECT_EQ(status.code(), StatusCode::InvalidArgument) << params[p].name;
    EXPECT_EQ(status.message(),
              params[p].name + ": stride " + std::to_string(rowDim) + " is " +
                  std::to_string(strides[rowDim]) +
                  ", not a multiple of 8 elements");
    ++checked;
  }
  // A case whose every bf16 operand has a single row (a decode step over a
  // cache of one key) has no row stride to get wrong.
  if (checked == 0)
    GTEST_SKIP() << GetParam().label << " has no bf16 operand with two or more rows";
}

TEST_P(StridedBinding, TimeMajorGatesBindWhereTheKernelsStrideTheirLastDim) {
  // [B, H, T] operands stored as [B, T, H], as flash-linear-attention keeps
  // gates: the last dim T then steps over heads. A param whose kernels read
  // it through that stride (the manifest's strided_last_dim: a
  // recurrence's beta, decay and mLSTM gates) binds as it is; any other
  // (mLSTM normalisers, lse) is refused by name, and the caller makes it
  // contiguous first. (Packed [T, H, D] rows get the same strides and are
  // refused too.)
  std::vector<Operand> plan;
  ASSERT_TRUE(planOperands(GetParam(), params, Layout::Contiguous, plan));
  size_t checked = 0;
  for (size_t p = 0; p < params.size(); ++p) {
    const std::vector<int64_t> &sizes = plan[p].layout.sizes;
    if (!plan[p].file || sizes.size() != 3 || sizes[1] < 2 || sizes[2] < 2)
      continue;
    const std::vector<int64_t> timeMajor = {sizes[1] * sizes[2], 1, sizes[1]};
    Status status = validate(Layout::Contiguous, [&](auto &, auto &args) {
      args[p].strides = timeMajor.data();
    });
    ++checked;
    if (params[p].stridedLastDim) {
      EXPECT_TRUE(status.ok()) << params[p].name << ": " << status.toString();
      continue;
    }
    EXPECT_EQ(status.code(), StatusCode::InvalidArgument) << params[p].name;
    // A packed batch's [T, H, D] rows (16-bit, dialect/Varlen.h) have
    // 16-byte aligned strides, so their unit head stride is refused first,
    // by that rule.
    bool rows16 = params[p].strideAlign > 1;
    std::string rule =
        rows16 ? std::string("stride 1 is 1, not a multiple of 8 elements")
               : "the last dim must be contiguous (stride 1), got stride " +
                     std::to_string(sizes[1]);
    EXPECT_EQ(status.message(), params[p].name + ": " + rule);
  }
  if (checked == 0)
    GTEST_SKIP() << GetParam().label << " has no [B, H, T] operand";
}

INSTANTIATE_TEST_SUITE_P(Cases, StridedBinding,
                         ::testing::ValuesIn(environmentCases()),
                         [](const ::testing::TestParamInfo<GpuCase> &info) {
                           return testName(info.param.label);
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StridedBinding);

} // namespace
