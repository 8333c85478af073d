// The payload scan: large raw_data of the main graph's initializers leaves the skeleton and is located
// exactly; models loaded that way (from a file or from bytes) compute with the same weights; size mismatches
// and malformed bytes still give the loader's errors, never a crash. Large payloads in the model file are
// mapped in place rather than copied, aligned for their elements or not; in external data, aligned ones are.
#include "onnx/payload_scan.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kestrel/session.h"
#include "onnx/loader.h"
#include "onnx/onnx_pb.h"

namespace kestrel {
namespace {

namespace fs = std::filesystem;
using onnx_format::split_large_payloads;

constexpr int64_t kRows = 64, kCols = 300;  // 76800 bytes of float: above the loader's 64 KiB split size

std::vector<float> weight_values() {
  std::vector<float> w(static_cast<size_t>(kRows * kCols));
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(static_cast<int>(i % 1013) - 500) / 64.0f;
  return w;
}

// y = x + W (W a large raw_data initializer) + b (a small one) + c (float_data).
onnx::ModelProto add_weights_model(const std::vector<float>& w) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_value(kRows);
  tt->mutable_shape()->add_dim()->set_dim_value(kCols);
  auto* b = g->add_initializer();
  b->set_name("b");
  b->set_data_type(onnx::TensorProto::FLOAT);
  b->add_dims(kCols);
  const std::vector<float> bias(static_cast<size_t>(kCols), 0.25f);
  b->set_raw_data(bias.data(), bias.size() * sizeof(float));
  auto* W = g->add_initializer();
  W->set_name("W");
  W->set_data_type(onnx::TensorProto::FLOAT);
  W->add_dims(kRows);
  W->add_dims(kCols);
  W->set_raw_data(w.data(), w.size() * sizeof(float));
  auto* c = g->add_initializer();
  c->set_name("c");
  c->set_data_type(onnx::TensorProto::FLOAT);
  c->add_float_data(-1.0f);
  const char* names[][3] = {{"x", "W", "xw"}, {"xw", "b", "xwb"}, {"xwb", "c", "y"}};
  for (const auto& [a, bb, out] : names) {
    auto* n = g->add_node();
    n->set_op_type("Add");
    n->add_input(a);
    n->add_input(bb);
    n->add_output(out);
  }
  g->add_output()->set_name("y");
  return m;
}

// Every y element is x + W + 0.25 - 1 with x = 0.
void expect_weights_used(Session& s, const std::vector<float>& w) {
  Tensor x(ElementType::kFloat, {kRows, kCols});
  const Tensor y = s.run({{"x", Value(x)}}).at(0).tensor();
  ASSERT_EQ(y.size(), kRows * kCols);
  for (int64_t i = 0; i < y.size(); ++i)
    ASSERT_EQ(y.data<float>()[i], w[static_cast<size_t>(i)] + 0.25f - 1.0f) << "element " << i;
}

fs::path write_file(const std::string& name, const std::string& bytes) {
  const fs::path dir = fs::temp_directory_path() / "kestrel_payload_scan_test";
  fs::create_directories(dir);
  const fs::path path = dir / name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// A length-delimited protobuf field.
std::string field(int number, const std::string& body) {
  std::string out(1, static_cast<char>(number << 3 | 2));
  for (uint64_t len = body.size();; len >>= 7) {
    out.push_back(static_cast<char>(len >= 0x80 ? (len & 0x7f) | 0x80 : len));
    if (len < 0x80) break;
  }
  return out + body;
}

TEST(PayloadScan, LargeRawDataLeavesTheSkeleton) {
  const auto w = weight_values();
  const std::string bytes = add_weights_model(w).SerializeAsString();
  const auto skeleton =
      split_large_payloads(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 65536);
  ASSERT_TRUE(skeleton);
  ASSERT_EQ(skeleton->payloads.size(), 3u);  // b, W, c in order
  EXPECT_FALSE(skeleton->payloads[0].present);
  ASSERT_TRUE(skeleton->payloads[1].present);
  EXPECT_FALSE(skeleton->payloads[2].present);
  const auto& p = skeleton->payloads[1];
  ASSERT_EQ(p.length, w.size() * sizeof(float));
  ASSERT_LE(p.offset + p.length, bytes.size());
  EXPECT_EQ(std::memcmp(bytes.data() + p.offset, w.data(), p.length), 0);
  // The skeleton parses; W lost only its raw_data, the rest is as written.
  onnx::ModelProto parsed;
  ASSERT_TRUE(parsed.ParseFromString(skeleton->bytes));
  ASSERT_EQ(parsed.graph().initializer_size(), 3);
  EXPECT_FALSE(parsed.graph().initializer(1).has_raw_data());
  EXPECT_EQ(parsed.graph().initializer(1).dims_size(), 2);
  EXPECT_EQ(parsed.graph().initializer(0).raw_data().size(), static_cast<size_t>(kCols) * sizeof(float));
  EXPECT_EQ(parsed.graph().initializer(2).float_data_size(), 1);
  EXPECT_EQ(parsed.graph().node_size(), 3);
  EXPECT_LT(skeleton->bytes.size(), bytes.size() - p.length + 16);
  // Nothing that large: nothing to split.
  EXPECT_FALSE(split_large_payloads(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 1 << 20));
}

TEST(PayloadScan, ModelsLoadWithTheirWeightsFromFileAndBytes) {
  const auto w = weight_values();
  const std::string bytes = add_weights_model(w).SerializeAsString();
  SessionOptions as_written;
  as_written.graph_optimization_level = GraphOptimizationLevel::kDisableAll;
  Session from_bytes(bytes.data(), bytes.size(), as_written);
  expect_weights_used(from_bytes, w);
  Session from_file(write_file("weights.onnx", bytes).string(), as_written);
  expect_weights_used(from_file, w);
  Session optimized(write_file("weights.onnx", bytes).string());
  expect_weights_used(optimized, w);
}

TEST(PayloadScan, LargePayloadsReadInPiecesByATeam) {
  // Over 2 MiB pieces, at an odd offset and length, read by the process's default team (one thread per core).
  std::string bytes(9 * (1 << 20) + 12345, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131 + i / 4099) & 0xff);
  const onnx_format::MappedFile file(write_file("pieces.bin", bytes).string());
  const uint64_t offset = 4097, length = bytes.size() - offset - 3;
  std::vector<char> out(length);
  file.read(offset, length, out.data());
  EXPECT_EQ(std::memcmp(out.data(), bytes.data() + offset, length), 0);
  std::vector<char> past_the_end(bytes.size());
  EXPECT_THROW(file.read(1, bytes.size(), past_the_end.data()), Error);
}

TEST(PayloadScan, SizeMismatchIsStillReported) {
  auto m = add_weights_model(weight_values());
  std::string raw = m.graph().initializer(1).raw_data();
  raw.append(4, '\0');  // one float more than the shape holds
  m.mutable_graph()->mutable_initializer(1)->set_raw_data(raw);
  const std::string bytes = m.SerializeAsString();
  for (bool file : {false, true}) {
    try {
      if (file)
        Session s(write_file("mismatch.onnx", bytes).string());
      else
        Session s(bytes.data(), bytes.size());
      FAIL() << "loading succeeded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("raw_data has 76804 bytes"), std::string::npos) << e.what();
    }
  }
}

TEST(PayloadScan, MalformedBytesAreLeftToTheParser) {
  const auto m = add_weights_model(weight_values());
  const std::string bytes = m.SerializeAsString();
  auto split = [](const std::string& b) {
    return split_large_payloads(reinterpret_cast<const uint8_t*>(b.data()), b.size(), 65536);
  };
  // Cut anywhere, the scan declines and loading fails cleanly (from bytes and from a file).
  for (size_t cut : {size_t{3}, bytes.size() / 4, bytes.size() / 2, bytes.size() - 1}) {
    const std::string truncated = bytes.substr(0, cut);
    EXPECT_FALSE(split(truncated)) << "cut at " << cut;
    EXPECT_THROW(Session(truncated.data(), truncated.size()), Error);
    EXPECT_THROW(Session(write_file("truncated.onnx", truncated).string()), Error);
  }
  // A group (wire type 3) in the model, and a second graph field: left to protobuf.
  EXPECT_FALSE(split(bytes + std::string("\x0b\x0c", 2)));
  EXPECT_FALSE(split(bytes + field(7, m.graph().SerializeAsString())));
}

TEST(PayloadScan, RepeatedRawDataKeepsProtobufsMeaning) {
  // W with two raw_data fields: protobuf keeps the last one, and the scan leaves such a model to it.
  const auto w = weight_values();
  const std::vector<float> w2(w.size(), 3.0f);
  auto m = add_weights_model(w);
  onnx::TensorProto W = m.graph().initializer(1);
  W.clear_raw_data();
  const std::string tensor = W.SerializeAsString() +
                             field(9, std::string(reinterpret_cast<const char*>(w.data()), w.size() * 4)) +
                             field(9, std::string(reinterpret_cast<const char*>(w2.data()), w2.size() * 4));
  onnx::GraphProto graph = m.graph();
  graph.mutable_initializer()->DeleteSubrange(1, 1);
  m.clear_graph();
  const std::string bytes = m.SerializeAsString() + field(7, graph.SerializeAsString() + field(5, tensor));
  EXPECT_FALSE(split_large_payloads(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 65536));
  SessionOptions as_written;
  as_written.graph_optimization_level = GraphOptimizationLevel::kDisableAll;
  Session s(write_file("repeated.onnx", bytes).string(), as_written);
  expect_weights_used(s, w2);
}

// The path of the file mapped at `p` in this process ("" when `p` is in anonymous memory).
std::string mapped_file_at(const void* p) {
  std::ifstream maps("/proc/self/maps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  for (std::string line; std::getline(maps, line);) {
    std::istringstream fields(line);
    std::string range, perms, offset, device, inode, path;
    fields >> range >> perms >> offset >> device >> inode >> path;
    const uintptr_t lo = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
    const uintptr_t hi = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
    if (at >= lo && at < hi) return path;
  }
  return "";
}

TEST(PayloadScan, MapFileRangeGivesAlignedRangesOnly) {
  std::string bytes(3 * 4096 + 100, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + 1);
  const fs::path path = write_file("range.bin", bytes);
  std::shared_ptr<void> view;
  {
    const onnx_format::MappedFile file(path.string());
    view = file.view(4100, 8000, 4);
    EXPECT_FALSE(file.view(4101, 8000, 4)) << "not aligned for 4-byte elements";
    EXPECT_TRUE(file.view(4101, 8000, 1));
  }
  // The view outlives the file object that made it, holds the file's bytes, and writing it leaves the file
  // alone.
  ASSERT_TRUE(view);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view.get()) % 4, 0u);
  EXPECT_EQ(std::memcmp(view.get(), bytes.data() + 4100, 8000), 0);
  EXPECT_EQ(mapped_file_at(view.get()), path.string());
  static_cast<char*>(view.get())[0] = 'z';
  std::ifstream in(path, std::ios::binary);
  std::string reread((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(reread, bytes);
}

// add_weights_model serialized with a graph name of pad + 1 characters: the name comes before the
// initializers, so it moves W's payload a byte at a time.
std::string shifted_weights_model(const std::vector<float>& w, int pad) {
  auto m = add_weights_model(w);
  m.mutable_graph()->set_name(std::string(static_cast<size_t>(pad + 1), 'g'));
  return m.SerializeAsString();
}

// Whether W's payload in `bytes` starts at a multiple of a float's size (the condition for mapping it).
bool w_payload_aligned(const std::string& bytes) {
  const auto skeleton =
      split_large_payloads(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 65536);
  EXPECT_TRUE(skeleton && skeleton->payloads[1].present);
  return skeleton && skeleton->payloads[1].present && skeleton->payloads[1].offset % sizeof(float) == 0;
}

TEST(PayloadScan, LargePayloadsAreMappedWhereverTheyLie) {
  // Each pad moves W's payload a byte: some placements are aligned for floats, some are not; all are mapped
  // (runtime/unaligned_constants.h says who reads an unaligned one as it is).
  const auto w = weight_values();
  bool saw_aligned = false, saw_unaligned = false;
  for (int pad = 0; pad < 4; ++pad) {
    const std::string bytes = shifted_weights_model(w, pad);
    const bool aligned = w_payload_aligned(bytes);
    const fs::path path = write_file("aligned" + std::to_string(pad) + ".onnx", bytes);
    const auto model = onnx_format::load_model_file(path.string());
    const ir::Value* W = model->graph->find("W");
    ASSERT_TRUE(W && W->initializer);
    EXPECT_EQ(std::memcmp(W->initializer->raw_data(), w.data(), w.size() * sizeof(float)), 0) << pad;
    EXPECT_EQ(mapped_file_at(W->initializer->raw_data()), path.string()) << pad;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(W->initializer->raw_data()) % sizeof(float) == 0, aligned) << pad;
    (aligned ? saw_aligned : saw_unaligned) = true;
    // The small initializer is copied out of the parsed message, whatever its place.
    EXPECT_NE(mapped_file_at(model->graph->find("b")->initializer->raw_data()), path.string());
    SessionOptions as_written;  // Add reads W at run time: from its mapping, or from an aligned copy of it
    as_written.graph_optimization_level = GraphOptimizationLevel::kDisableAll;
    Session s(path.string(), as_written);
    expect_weights_used(s, w);
  }
  EXPECT_TRUE(saw_aligned && saw_unaligned);
}

TEST(PayloadScan, AlignedExternalDataIsMapped) {
  const auto w = weight_values();
  const fs::path dir = fs::temp_directory_path() / "kestrel_payload_scan_test" / "external";
  fs::create_directories(dir);
  {
    // W at offset 64 (aligned), and again at offset 2 (not aligned for floats).
    std::ofstream out(dir / "w.bin", std::ios::binary);
    out.write(std::string(64, 'x').data(), 64);
    out.write(reinterpret_cast<const char*>(w.data()),
              static_cast<std::streamsize>(w.size() * sizeof(float)));
    std::ofstream odd(dir / "odd.bin", std::ios::binary);
    odd.write("xx", 2);
    odd.write(reinterpret_cast<const char*>(w.data()),
              static_cast<std::streamsize>(w.size() * sizeof(float)));
  }
  for (const auto& [location, offset] : {std::pair<std::string, int>{"w.bin", 64}, {"odd.bin", 2}}) {
    auto m = add_weights_model(w);
    onnx::TensorProto* W = m.mutable_graph()->mutable_initializer(1);
    W->clear_raw_data();
    W->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = W->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    kv = W->add_external_data();
    kv->set_key("offset");
    kv->set_value(std::to_string(offset));
    const fs::path path = dir / "model.onnx";
    {
      std::ofstream out(path, std::ios::binary);
      m.SerializeToOstream(&out);
    }
    const auto model = onnx_format::load_model_file(path.string());
    const ir::Value* v = model->graph->find("W");
    ASSERT_TRUE(v && v->initializer);
    EXPECT_EQ(std::memcmp(v->initializer->raw_data(), w.data(), w.size() * sizeof(float)), 0) << location;
    EXPECT_EQ(mapped_file_at(v->initializer->raw_data()) == fs::weakly_canonical(dir / location).string(),
              offset == 64)
        << location;
    SessionOptions as_written;
    as_written.graph_optimization_level = GraphOptimizationLevel::kDisableAll;
    Session s(path.string(), as_written);
    expect_weights_used(s, w);
  }
}

TEST(PayloadScan, SavingOverTheMappedModelKeepsTheSessionsWeights) {
  // A session whose model file maps W, saving its optimized model over that same file: the file is replaced,
  // not rewritten, so the mapping keeps the bytes it had.
  const auto w = weight_values();
  for (int pad = 0; pad < 4; ++pad) {
    const std::string bytes = shifted_weights_model(w, pad);
    if (!w_payload_aligned(bytes)) continue;
    const fs::path path = write_file("saved_over.onnx", bytes);
    struct stat before {};
    ASSERT_EQ(::stat(path.c_str(), &before), 0);
    SessionOptions options;
    options.optimized_model_filepath = path.string();
    Session s(path.string(), options);
    expect_weights_used(s, w);
    EXPECT_FALSE(fs::exists(path.string() + ".kestrel-tmp"));
    struct stat after {};
    ASSERT_EQ(::stat(path.c_str(), &after), 0);
    EXPECT_NE(after.st_ino, before.st_ino) << "the model file was rewritten in place";
    Session reloaded(path.string());
    expect_weights_used(reloaded, w);
    return;
  }
  FAIL() << "no graph name put W at an aligned offset";
}

}  // namespace
}  // namespace kestrel
