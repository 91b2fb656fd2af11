//===- CApiTest.cpp - The C API over the runtime --------------------------===//

#include "flashgen/runtime_c.h"

#include "TestSupport.h"

#include <gtest/gtest.h>

#include <string>

using namespace flashgen::test;

namespace {

TEST(CApi, LoadsValidatesAndReportsErrors) {
  flashgen_bundle_t bundle = nullptr;
  EXPECT_EQ(flashgen_bundle_load("/no/such/bundle", &bundle), FLASHGEN_ERROR_FILE);
  EXPECT_EQ(bundle, nullptr);
  EXPECT_NE(std::string(flashgen_last_error()).find("/no/such/bundle"),
            std::string::npos);

  ASSERT_EQ(flashgen_bundle_load(axpyBundleDir().c_str(), &bundle), FLASHGEN_OK)
      << flashgen_last_error();
  EXPECT_EQ(flashgen_bundle_num_kernels(bundle), 1);
  EXPECT_STREQ(flashgen_bundle_kernel_name(bundle, 0), "axpy");
  EXPECT_EQ(flashgen_bundle_kernel_name(bundle, 1), nullptr);
  EXPECT_STREQ(flashgen_bundle_target(bundle), "sm_80");

  flashgen_kernel_t kernel = nullptr;
  EXPECT_EQ(flashgen_bundle_get_kernel(bundle, "nope", nullptr, &kernel),
            FLASHGEN_ERROR_NOT_FOUND);
  ASSERT_EQ(flashgen_bundle_get_kernel(bundle, "axpy", nullptr, &kernel),
            FLASHGEN_OK);
  // The kernel keeps the bundle alive.
  flashgen_bundle_release(bundle);

  ASSERT_EQ(flashgen_kernel_num_params(kernel), 4);
  EXPECT_STREQ(flashgen_kernel_param_name(kernel, 0), "x");
  EXPECT_STREQ(flashgen_kernel_param_name(kernel, 3), "rowsum");
  EXPECT_EQ(flashgen_kernel_param_name(kernel, 4), nullptr);
  EXPECT_EQ(flashgen_kernel_num_scalars(kernel), 1);
  EXPECT_STREQ(flashgen_kernel_scalar_name(kernel, 0), "alpha");
  EXPECT_EQ(flashgen_kernel_num_variants(kernel), 2);

  int64_t sizes[4] = {2, 4, 8, 16};
  flashgen_tensor_t t[4] = {
      {reinterpret_cast<void *>(0x1000), FLASHGEN_DTYPE_BF16, 4, sizes, nullptr},
      {reinterpret_cast<void *>(0x2000), FLASHGEN_DTYPE_F32, 4, sizes, nullptr},
      {reinterpret_cast<void *>(0x3000), FLASHGEN_DTYPE_F32, 4, sizes, nullptr},
      {nullptr, FLASHGEN_DTYPE_F32, 3, sizes, nullptr}};
  flashgen_scalar_t alpha = {FLASHGEN_DTYPE_F32, 0, 0.5, 0};
  EXPECT_EQ(flashgen_kernel_validate(kernel, t, 4, &alpha, 1), FLASHGEN_OK)
      << flashgen_last_error();
  t[1].dtype = FLASHGEN_DTYPE_F16;
  EXPECT_EQ(flashgen_kernel_validate(kernel, t, 4, &alpha, 1),
            FLASHGEN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(flashgen_last_error(), "y: dtype is f16, expected f32");
  t[1].dtype = FLASHGEN_DTYPE_F32;

  ASSERT_EQ(flashgen_kernel_select_variant(kernel, 1), FLASHGEN_OK);
  EXPECT_EQ(flashgen_kernel_variant(kernel), 1);
  size_t bytes = 0;
  ASSERT_EQ(flashgen_kernel_workspace_bytes(kernel, t, 4, nullptr, 0, &bytes),
            FLASHGEN_OK);
  EXPECT_EQ(bytes, 2u * 4 * 8 * 16 * 4);
  EXPECT_EQ(flashgen_kernel_launch(kernel, t, 4, nullptr, 0, nullptr),
            FLASHGEN_ERROR_NO_DEVICE);
  EXPECT_EQ(flashgen_kernel_launch(nullptr, t, 4, nullptr, 0, nullptr),
            FLASHGEN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(flashgen_last_error(), "kernel: null handle");
  flashgen_kernel_release(kernel);
}

TEST(CApi, CompileVariantReturnsJson) {
  IsolatedCache cache;
  flashgen_bundle_t bundle = nullptr;
  ASSERT_EQ(flashgen_bundle_load(axpyBundleDir().c_str(), &bundle), FLASHGEN_OK);
  char *report = nullptr;
  ASSERT_EQ(flashgen_bundle_compile_variant(bundle, "axpy", 0, "sm_90a", &report),
            FLASHGEN_OK)
      << flashgen_last_error();
  ASSERT_NE(report, nullptr);
  std::string json = report;
  flashgen_free_string(report);
  EXPECT_NE(json.find("\"entry\":\"fixture_axpy_v0\""), std::string::npos);
  EXPECT_NE(json.find("\"arch\":\"sm_90a\""), std::string::npos);
  EXPECT_EQ(flashgen_bundle_compile_variant(bundle, "axpy", 0, nullptr, nullptr),
            FLASHGEN_ERROR_INVALID_ARGUMENT);
  flashgen_bundle_release(bundle);
}

TEST(CApi, DeviceCallsFailCleanlyWithoutAGpu) {
  int count = -1;
  flashgen_status_t st = flashgen_device_count(&count);
  if (st == FLASHGEN_OK)
    GTEST_SKIP() << "a CUDA driver is present; this test covers machines "
                    "without one";
  EXPECT_TRUE(st == FLASHGEN_ERROR_NO_DRIVER || st == FLASHGEN_ERROR_NO_DEVICE);
  EXPECT_NE(std::string(flashgen_last_error()).find("CUDA"), std::string::npos);
  flashgen_device_t dev = nullptr;
  EXPECT_EQ(flashgen_device_open(0, &dev), st);
  EXPECT_EQ(dev, nullptr);
}

} // namespace
