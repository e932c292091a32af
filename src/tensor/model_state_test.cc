#include "tensor/model_state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>

namespace tributary {
namespace {

ModelState MakeState() {
  ModelState state = *ModelState::Zeros({{"conv.weight", {2, 3}}, {"conv.bias", {2}}});
  for (size_t i = 0; i < state.num_elements(); ++i) state.flat()[i] = 0.5f * i - 1.0f;
  return state;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + std::to_string(getpid()))).string();
}

TEST(ModelStateTest, LayoutAndFlatView) {
  ModelState state = MakeState();
  EXPECT_EQ(state.num_tensors(), 2u);
  EXPECT_EQ(state.num_elements(), 8u);
  EXPECT_EQ(state.num_bytes(), 32u);
  EXPECT_EQ(state.tensor(1).size(), 2u);
  EXPECT_EQ(state.tensor(1)[0], state.flat()[6]);
  EXPECT_EQ(*state.IndexOf("conv.bias"), 1u);
  EXPECT_FALSE(state.IndexOf("nope").ok());
}

TEST(ModelStateTest, RejectsBadLayouts) {
  EXPECT_FALSE(ModelState::Zeros({{"a", {1}}, {"a", {2}}}).ok());
  EXPECT_FALSE(ModelState::Zeros({{"", {1}}}).ok());
  EXPECT_FALSE(ModelState::Zeros({{"a", {-1}}}).ok());
}

TEST(ModelStateTest, SubtractAndAdd) {
  ModelState a = MakeState();
  ModelState b = MakeState();
  for (float& v : b.flat()) v *= 3.0f;
  ModelState delta = *Subtract(b, a);
  for (size_t i = 0; i < a.num_elements(); ++i) EXPECT_EQ(delta.flat()[i], 2.0f * a.flat()[i]);
  ASSERT_TRUE(AddInPlace(a, delta).ok());
  EXPECT_EQ(a.Checksum(), b.Checksum());
  ModelState other = *ModelState::Zeros({{"x", {8}}});
  EXPECT_FALSE(Subtract(a, other).ok());
}

TEST(ModelStateTest, ChecksumSeesValuesAndNames) {
  ModelState a = MakeState();
  ModelState b = MakeState();
  EXPECT_EQ(a.Checksum(), b.Checksum());
  b.flat()[3] += 1e-6f;
  EXPECT_NE(a.Checksum(), b.Checksum());
  ModelState renamed = *ModelState::Zeros({{"conv.weightX", {2, 3}}, {"conv.bias", {2}}});
  std::copy(a.flat().begin(), a.flat().end(), renamed.flat().begin());
  EXPECT_NE(a.Checksum(), renamed.Checksum());
}

TEST(ModelStateTest, AllFinite) {
  ModelState a = MakeState();
  EXPECT_TRUE(AllFinite(a.flat()));
  a.flat()[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(AllFinite(a.flat()));
}

TEST(ModelStateIoTest, SaveLoadRoundTrip) {
  ModelState state = MakeState();
  const std::string path = TempPath("roundtrip.pt");
  ASSERT_TRUE(SaveModelState(state, path).ok());
  absl::StatusOr<ModelState> loaded = LoadModelState(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->specs(), state.specs());
  EXPECT_EQ(loaded->Checksum(), state.Checksum());
  std::remove(path.c_str());
}

TEST(ModelStateIoTest, LoadRejectsGarbage) {
  const std::string path = TempPath("garbage.pt");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fputs("this is not a model", f);
  std::fclose(f);
  EXPECT_FALSE(LoadModelState(path).ok());
  EXPECT_FALSE(LoadModelState(path + ".missing").ok());
  std::remove(path.c_str());
}

// The saved file must be what PyTorch's torch.load reads: a dict of name -> tensor.
TEST(ModelStateIoTest, PythonTorchLoadReadsSavedModel) {
  // python3-torch is installed by scripts/setup.sh.
  ASSERT_EQ(std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1"), 0)
      << "python3-torch is missing: run scripts/setup.sh";
  ModelState state = MakeState();
  const std::string path = TempPath("for_python.pt");
  ASSERT_TRUE(SaveModelState(state, path).ok());
  const std::string script =
      "import torch, sys\n"
      "d = torch.load(sys.argv[1])\n"
      "assert list(d.keys()) == ['conv.weight', 'conv.bias'], list(d.keys())\n"
      "assert d['conv.weight'].shape == (2, 3) and d['conv.weight'].dtype == torch.float32\n"
      "flat = torch.cat([d['conv.weight'].flatten(), d['conv.bias']])\n"
      "assert torch.equal(flat, torch.arange(8, dtype=torch.float32) * 0.5 - 1.0), flat\n";
  const std::string script_path = path + ".py";
  std::FILE* f = std::fopen(script_path.c_str(), "w");
  std::fputs(script.c_str(), f);
  std::fclose(f);
  EXPECT_EQ(std::system(("/usr/bin/python3 " + script_path + " " + path).c_str()), 0);
  std::remove(path.c_str());
  std::remove(script_path.c_str());
}

}  // namespace
}  // namespace tributary
