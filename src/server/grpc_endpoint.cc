// gRPC endpoint of the inference protocol.
#include "server/grpc_endpoint.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <limits>

#include "inference_service.grpc.pb.h"
#include "server/server.h"
#include "server/tensor_codec.h"

namespace kestrel::server {
namespace {

grpc::Status to_grpc(const RequestError& e) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (e.status()) {
    case Status::kInvalidArgument: code = grpc::StatusCode::INVALID_ARGUMENT; break;
    case Status::kNotFound: code = grpc::StatusCode::NOT_FOUND; break;
    case Status::kUnavailable: code = grpc::StatusCode::UNAVAILABLE; break;
    case Status::kResourceExhausted: code = grpc::StatusCode::RESOURCE_EXHAUSTED; break;
    case Status::kDeadlineExceeded: code = grpc::StatusCode::DEADLINE_EXCEEDED; break;
    case Status::kInternal: code = grpc::StatusCode::INTERNAL; break;
  }
  return grpc::Status(code, e.what());
}

// Runs a call, turning every error into a gRPC status with the message.
template <typename Body>
grpc::Status guarded(Body body) {
  try {
    body();
    return grpc::Status::OK;
  } catch (const RequestError& e) {
    return to_grpc(e);
  } catch (const Error& e) {
    return grpc::Status(e.code() == ErrorCode::kInvalidArgument ? grpc::StatusCode::INVALID_ARGUMENT
                                                                 : grpc::StatusCode::INTERNAL,
                        e.what());
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INTERNAL, e.what());
  }
}

RequestError invalid(const std::string& message) { return RequestError(Status::kInvalidArgument, message); }

void fill_metadata(const std::vector<IoInfo>& list,
                   google::protobuf::RepeatedPtrField<inference::ModelMetadataResponse::TensorMetadata>* out) {
  for (const IoInfo& io : list) {
    auto* t = out->Add();
    t->set_name(io.name);
    try {
      t->set_datatype(io.type.kind == TypeInfo::Kind::kTensor ? datatype_of(io.type.element_type)
                                                              : io.type.to_string());
    } catch (const RequestError&) {
      t->set_datatype(io.type.to_string());
    }
    if (io.type.shape)
      for (const Dim& d : *io.type.shape) t->add_shape(d.fixed() ? d.value : -1);
  }
}

template <typename T, typename Field>
Tensor integers_from_contents(const std::string& name, ElementType type, const Shape& shape, const Field& field) {
  Tensor out(type, shape);
  T* data = out.template data<T>();
  for (int i = 0; i < field.size(); ++i) {
    const auto v = field.Get(i);
    if (v < static_cast<decltype(v)>(std::numeric_limits<T>::min()) ||
        v > static_cast<decltype(v)>(std::numeric_limits<T>::max()))
      throw invalid("input '" + name + "': element " + std::to_string(i) + " (" + std::to_string(v) +
                    ") is out of range for its datatype");
    data[i] = static_cast<T>(v);
  }
  return out;
}

// Decodes the typed `contents` of an input (the alternative to raw_input_contents).
Tensor tensor_from_contents(const std::string& name, ElementType type, const Shape& shape,
                            const inference::InferTensorContents& c) {
  const int64_t count = element_count(name, shape);
  int64_t given = 0;
  switch (type) {
    case ElementType::kBool: given = c.bool_contents_size(); break;
    case ElementType::kInt8: case ElementType::kInt16: case ElementType::kInt32: given = c.int_contents_size(); break;
    case ElementType::kInt64: given = c.int64_contents_size(); break;
    case ElementType::kUInt8: case ElementType::kUInt16: case ElementType::kUInt32: given = c.uint_contents_size(); break;
    case ElementType::kUInt64: given = c.uint64_contents_size(); break;
    case ElementType::kFloat: given = c.fp32_contents_size(); break;
    case ElementType::kDouble: given = c.fp64_contents_size(); break;
    case ElementType::kString: given = c.bytes_contents_size(); break;
    default:
      throw invalid("input '" + name + "': datatype " + datatype_of(type) +
                    " has no typed contents field; send it in raw_input_contents");
  }
  if (given != count)
    throw invalid("input '" + name + "': shape " + shape_to_string(shape) + " needs " + std::to_string(count) +
                  " elements, its contents hold " + std::to_string(given));
  switch (type) {
    case ElementType::kBool: {
      Tensor out(type, shape);
      std::copy(c.bool_contents().begin(), c.bool_contents().end(), out.data<bool>());
      return out;
    }
    case ElementType::kInt8: return integers_from_contents<int8_t>(name, type, shape, c.int_contents());
    case ElementType::kInt16: return integers_from_contents<int16_t>(name, type, shape, c.int_contents());
    case ElementType::kInt32: return integers_from_contents<int32_t>(name, type, shape, c.int_contents());
    case ElementType::kInt64: return integers_from_contents<int64_t>(name, type, shape, c.int64_contents());
    case ElementType::kUInt8: return integers_from_contents<uint8_t>(name, type, shape, c.uint_contents());
    case ElementType::kUInt16: return integers_from_contents<uint16_t>(name, type, shape, c.uint_contents());
    case ElementType::kUInt32: return integers_from_contents<uint32_t>(name, type, shape, c.uint_contents());
    case ElementType::kUInt64: return integers_from_contents<uint64_t>(name, type, shape, c.uint64_contents());
    case ElementType::kFloat: {
      Tensor out(type, shape);
      std::copy(c.fp32_contents().begin(), c.fp32_contents().end(), out.data<float>());
      return out;
    }
    case ElementType::kDouble: {
      Tensor out(type, shape);
      std::copy(c.fp64_contents().begin(), c.fp64_contents().end(), out.data<double>());
      return out;
    }
    default: {
      Tensor out(type, shape);
      std::copy(c.bytes_contents().begin(), c.bytes_contents().end(), out.data<std::string>());
      return out;
    }
  }
}

}  // namespace

class GrpcEndpoint::Service final : public inference::GRPCInferenceService::Service {
 public:
  explicit Service(Server& server) : server_(server) {}

  grpc::Status ServerLive(grpc::ServerContext*, const inference::ServerLiveRequest*,
                          inference::ServerLiveResponse* response) override {
    response->set_live(server_.live());
    return grpc::Status::OK;
  }

  grpc::Status ServerReady(grpc::ServerContext*, const inference::ServerReadyRequest*,
                           inference::ServerReadyResponse* response) override {
    response->set_ready(server_.ready());
    return grpc::Status::OK;
  }

  grpc::Status ModelReady(grpc::ServerContext*, const inference::ModelReadyRequest* request,
                          inference::ModelReadyResponse* response) override {
    return guarded([&] {
      try {
        server_.repository().find(request->name(), request->version());
        response->set_ready(true);
      } catch (const RequestError& e) {
        if (e.status() == Status::kNotFound) throw;
        response->set_ready(false);
      }
    });
  }

  grpc::Status ServerMetadata(grpc::ServerContext*, const inference::ServerMetadataRequest*,
                              inference::ServerMetadataResponse* response) override {
    response->set_name("kestrel");
    response->set_version(kestrel::version_string());
    for (const std::string& e : Server::extensions()) response->add_extensions(e);
    return grpc::Status::OK;
  }

  grpc::Status ModelMetadata(grpc::ServerContext*, const inference::ModelMetadataRequest* request,
                             inference::ModelMetadataResponse* response) override {
    return guarded([&] {
      auto model = server_.repository().find(request->name(), request->version());
      response->set_name(model->name);
      const auto status = server_.repository().status(model->name);
      if (status)
        for (int64_t v : status->versions) response->add_versions(std::to_string(v));
      response->set_platform("onnx");
      fill_metadata(model->session->inputs(), response->mutable_inputs());
      fill_metadata(model->session->outputs(), response->mutable_outputs());
    });
  }

  grpc::Status ModelInfer(grpc::ServerContext* context, const inference::ModelInferRequest* request,
                          inference::ModelInferResponse* response) override {
    const auto start = Clock::now();
    grpc::Status status = guarded([&] { infer(*context, *request, *response); });
    if (server_.logs(LogSeverity::kInfo)) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
      server_.log(LogSeverity::kInfo, {{"event", "request"}, {"protocol", "grpc"}, {"remote", context->peer()},
                                       {"method", "ModelInfer"}, {"model", request->model_name()},
                                       {"status", static_cast<int>(status.error_code())}, {"duration_us", us}});
    }
    return status;
  }

  grpc::Status RepositoryIndex(grpc::ServerContext*, const inference::RepositoryIndexRequest* request,
                               inference::RepositoryIndexResponse* response) override {
    return guarded([&] {
      for (const ModelStatus& s : server_.repository().index()) {
        if (request->ready() && s.state != ModelState::kReady) continue;
        auto* m = response->add_models();
        m->set_name(s.name);
        if (!s.versions.empty()) m->set_version(std::to_string(s.versions.back()));
        m->set_state(model_state_name(s.state));
        m->set_reason(s.reason);
      }
    });
  }

  grpc::Status RepositoryModelLoad(grpc::ServerContext*, const inference::RepositoryModelLoadRequest* request,
                                   inference::RepositoryModelLoadResponse*) override {
    return guarded([&] { server_.repository().load(request->model_name()); });
  }

  grpc::Status RepositoryModelUnload(grpc::ServerContext*, const inference::RepositoryModelUnloadRequest* request,
                                     inference::RepositoryModelUnloadResponse*) override {
    return guarded([&] { server_.repository().unload(request->model_name()); });
  }

 private:
  void infer(grpc::ServerContext& context, const inference::ModelInferRequest& request,
             inference::ModelInferResponse& response) {
    server_.repository().find(request.model_name(), request.model_version());  // unknown model: NOT_FOUND first
    InferRequest decoded;
    decoded.model = request.model_name();
    decoded.version = request.model_version();
    decoded.id = request.id();
    const auto timeout = request.parameters().find("timeout");
    if (timeout != request.parameters().end()) {
      if (timeout->second.parameter_choice_case() != inference::InferParameter::kInt64Param ||
          timeout->second.int64_param() < 0)
        throw invalid("parameter 'timeout' must be a non-negative int64_param (microseconds)");
      decoded.timeout_microseconds = timeout->second.int64_param();
    }
    // The client's own gRPC deadline bounds the run too.
    const auto client_deadline = context.deadline();
    if (client_deadline != std::chrono::system_clock::time_point::max()) {
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(client_deadline -
                                                                              std::chrono::system_clock::now());
      const int64_t us = std::max<int64_t>(1, left.count());
      if (!decoded.timeout_microseconds || us < *decoded.timeout_microseconds) decoded.timeout_microseconds = us;
    }
    const bool raw = request.raw_input_contents_size() > 0;
    if (raw && request.raw_input_contents_size() != request.inputs_size())
      throw invalid("raw_input_contents has " + std::to_string(request.raw_input_contents_size()) +
                    " entries for " + std::to_string(request.inputs_size()) + " inputs");
    for (int i = 0; i < request.inputs_size(); ++i) {
      const auto& input = request.inputs(i);
      const auto type = element_type_from_datatype(input.datatype());
      if (!type) throw invalid("input '" + input.name() + "': unknown datatype '" + input.datatype() + "'");
      const Shape shape(input.shape().begin(), input.shape().end());
      // Raw inputs are borrowed from the request message, which outlives the run and the response's encoding.
      if (raw)
        decoded.inputs.emplace_back(input.name(),
                                    tensor_over_raw(input.name(), *type, shape, request.raw_input_contents(i), nullptr));
      else
        decoded.inputs.emplace_back(input.name(), tensor_from_contents(input.name(), *type, shape, input.contents()));
    }
    for (const auto& output : request.outputs()) decoded.outputs.push_back(output.name());
    const InferResponse result = server_.infer(std::move(decoded));
    response.set_model_name(result.model);
    response.set_model_version(std::to_string(result.version));
    response.set_id(result.id);
    for (const auto& [name, tensor] : result.outputs) {
      auto* out = response.add_outputs();
      out->set_name(name);
      out->set_datatype(datatype_of(tensor.type()));
      for (int64_t d : tensor.shape()) out->add_shape(d);
      append_raw(tensor, *response.add_raw_output_contents());
    }
  }

  Server& server_;
};

GrpcEndpoint::GrpcEndpoint(Server& server) : server_(server), service_(std::make_unique<Service>(server)) {}

GrpcEndpoint::~GrpcEndpoint() { stop(); }

int GrpcEndpoint::start(const std::string& host, int port) {
  grpc::ServerBuilder builder;
  int bound = 0;
  const std::string address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // a port in use is an error, not shared
  const size_t limit = server_.options().max_request_bytes;
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(limit, std::numeric_limits<int>::max())));
  builder.SetMaxSendMessageSize(std::numeric_limits<int>::max());
  builder.RegisterService(service_.get());
  grpc_ = builder.BuildAndStart();
  if (!grpc_ || bound <= 0) throw std::runtime_error("cannot open the gRPC port " + address);
  return bound;
}

void GrpcEndpoint::stop() {
  if (!grpc_) return;
  // Calls in flight get this long to finish; the server's own request timeout is usually shorter.
  grpc_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc_->Wait();
  grpc_.reset();
}

}  // namespace kestrel::server
