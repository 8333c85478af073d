// The HTTP inference request body: JSON header, then the binary tensor data extension.
#include "server/infer_request.h"

#include "server/request_error.h"
#include "server/tensor_codec.h"

namespace kestrel::server {
namespace {

using nlohmann::json;

RequestError invalid(const std::string& message) { return RequestError(Status::kInvalidArgument, message); }

const json* member(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

Shape parse_shape(const json& input, const std::string& name) {
  const json* shape = member(input, "shape");
  if (!shape || !shape->is_array()) throw invalid("input '" + name + "': \"shape\" must be an array of integers");
  Shape out;
  for (const json& d : *shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      throw invalid("input '" + name + "': \"shape\" must hold non-negative integers, got " + shape->dump());
    out.push_back(d.get<int64_t>());
  }
  return out;
}

}  // namespace

json parse_request_json(std::string_view text) {
  // nlohmann's parser keeps its own stack, but walking the result (flattening "data", printing a value in an
  // error) recurses: a body of 200 KB of '[' would overflow the thread's stack. Tensors need a few levels.
  const json::parser_callback_t limit_depth = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth)
      throw invalid("the request nests JSON arrays or objects more than " + std::to_string(kMaxJsonDepth) +
                    " levels deep");
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), limit_depth);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers past a double (1e309)
    throw invalid(std::string("malformed JSON in the request: ") + e.what());
  }
}

bool bool_parameter(const json& parameters, const char* key, const std::string& where) {
  const json* v = member(parameters, key);
  if (!v) return false;
  if (!v->is_boolean()) throw invalid(where + ": parameter '" + key + "' must be true or false");
  return v->get<bool>();
}

ParsedInfer parse_infer_request(std::string_view body, const std::optional<std::string>& header_length,
                                const std::shared_ptr<void>& owner) {
  std::string_view header = body, binary;
  if (header_length) {
    const std::string& text = *header_length;
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
      throw invalid(std::string(kHeaderLength) + " must be a byte count, got '" + text + "'");
    const size_t length = std::stoull(text);
    if (length > body.size())
      throw invalid(std::string(kHeaderLength) + " is " + text + " but the body has only " +
                    std::to_string(body.size()) + " bytes");
    header = body.substr(0, length);
    binary = body.substr(length);
  }
  const json root = parse_request_json(header);
  if (!root.is_object()) throw invalid("the request must be a JSON object");
  ParsedInfer parsed;
  InferRequest& request = parsed.request;
  if (const json* id = member(root, "id")) {
    if (!id->is_string()) throw invalid("\"id\" must be a string");
    request.id = id->get<std::string>();
  }
  if (const json* parameters = member(root, "parameters")) {
    if (!parameters->is_object()) throw invalid("\"parameters\" must be an object");
    parsed.all_binary = bool_parameter(*parameters, "binary_data_output", "request");
    if (const json* timeout = member(*parameters, "timeout")) {
      if (!timeout->is_number_integer() || timeout->get<int64_t>() < 0)
        throw invalid("parameter 'timeout' must be a non-negative integer (microseconds)");
      request.timeout_microseconds = timeout->get<int64_t>();
    }
  }
  const json* inputs = member(root, "inputs");
  if (!inputs || !inputs->is_array() || inputs->empty()) throw invalid("\"inputs\" must be a non-empty array");
  size_t offset = 0;
  for (const json& input : *inputs) {
    if (!input.is_object()) throw invalid("each of \"inputs\" must be an object");
    const json* name_json = member(input, "name");
    if (!name_json || !name_json->is_string()) throw invalid("an input has no \"name\" string");
    const std::string name = name_json->get<std::string>();
    const json* datatype_json = member(input, "datatype");
    if (!datatype_json || !datatype_json->is_string())
      throw invalid("input '" + name + "': \"datatype\" must be a string");
    const auto type = element_type_from_datatype(datatype_json->get<std::string>());
    if (!type) throw invalid("input '" + name + "': unknown datatype " + datatype_json->dump());
    const Shape shape = parse_shape(input, name);
    const json* binary_size = nullptr;
    if (const json* parameters = member(input, "parameters")) {
      if (!parameters->is_object()) throw invalid("input '" + name + "': \"parameters\" must be an object");
      binary_size = member(*parameters, "binary_data_size");
    }
    const json* data = member(input, "data");
    if (binary_size) {
      if (data) throw invalid("input '" + name + "' has both \"data\" and binary_data_size");
      if (!binary_size->is_number_integer() || binary_size->get<int64_t>() < 0)
        throw invalid("input '" + name + "': binary_data_size must be a non-negative integer");
      const uint64_t size = binary_size->get<uint64_t>();
      if (size > binary.size() - offset)
        throw invalid("input '" + name + "': binary_data_size " + std::to_string(size) + " exceeds the " +
                      std::to_string(binary.size() - offset) + " bytes of binary data left in the body");
      const std::string_view bytes = binary.substr(offset, size);
      request.inputs.emplace_back(name, owner ? tensor_over_raw(name, *type, shape, bytes, owner)
                                              : tensor_from_raw(name, *type, shape, bytes));
      offset += size;
    } else {
      if (!data) throw invalid("input '" + name + "' has neither \"data\" nor binary_data_size");
      request.inputs.emplace_back(name, tensor_from_json(name, *type, shape, *data));
    }
  }
  if (offset != binary.size())
    throw invalid("the body has " + std::to_string(binary.size() - offset) +
                  " bytes of binary data that no input's binary_data_size accounts for");
  if (const json* outputs = member(root, "outputs")) {
    if (!outputs->is_array()) throw invalid("\"outputs\" must be an array");
    for (const json& output : *outputs) {
      const json* name = output.is_object() ? member(output, "name") : nullptr;
      if (!name || !name->is_string()) throw invalid("each of \"outputs\" must be an object with a \"name\"");
      request.outputs.push_back(name->get<std::string>());
      bool binary_output = parsed.all_binary;
      if (const json* parameters = member(output, "parameters")) {
        if (!parameters->is_object()) throw invalid("output '" + name->get<std::string>() + "': bad \"parameters\"");
        if (member(*parameters, "classification"))
          throw invalid("output '" + name->get<std::string>() + "': the classification extension is not supported");
        if (member(*parameters, "binary_data"))
          binary_output = bool_parameter(*parameters, "binary_data", "output '" + name->get<std::string>() + "'");
      }
      if (binary_output) parsed.binary_outputs.push_back(name->get<std::string>());
    }
  }
  return parsed;
}

}  // namespace kestrel::server
