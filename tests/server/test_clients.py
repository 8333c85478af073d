# `kestrel serve` as a separate process, driven by the clients people use: `requests` for HTTP/REST and `grpc` with
# stubs generated here from src/server/inference_service.proto (Debian's protoc and grpc_python_plugin).
# Run by ctest as `server_clients`; KESTREL_CLI names the kestrel binary.
import json
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import onnx_proto as op  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROTO_DIR = os.path.join(ROOT, "src", "server")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    # y = x * 2 + 1 for x FP32 [n, 3]
    model = op.model(
        [op.node("Mul", ["x", "two"], ["h"]), op.node("Add", ["h", "one"], ["y"])],
        [("x", op.tensor_type(op.FLOAT, ["n", 3]))], [("y", op.tensor_type(op.FLOAT, ["n", 3]))],
        initializers=[op.tensor("two", np.array([2], np.float32)), op.tensor("one", np.array([1], np.float32))])
    (tmp / "repo" / "affine" / "1").mkdir(parents=True)
    (tmp / "repo" / "affine" / "1" / "model.onnx").write_bytes(model)
    # The same model with dynamic batching: four requests make a batch at once; alone, one waits up to 5 s (it is held
    # even when alone in the queue, so that the four are joined whatever order they arrive in).
    (tmp / "repo" / "affine_batched" / "1").mkdir(parents=True)
    (tmp / "repo" / "affine_batched" / "1" / "model.onnx").write_bytes(model)
    (tmp / "repo" / "affine_batched" / "config.json").write_text(json.dumps(
        {"max_batch_size": 8, "dynamic_batching": {"max_queue_delay_microseconds": 5000000, "preferred_batch_size": [4],
                                                "delay_lone_requests": True}}))
    stubs = tmp / "stubs"
    stubs.mkdir()
    subprocess.run(["protoc", f"--proto_path={PROTO_DIR}", f"--python_out={stubs}", f"--grpc_out={stubs}",
                    "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                    os.path.join(PROTO_DIR, "inference_service.proto")], check=True)
    sys.path.insert(0, str(stubs))
    cli = os.environ.get("KESTREL_CLI", os.path.join(ROOT, "build", "kestrel"))
    proc = subprocess.Popen([cli, "serve", "--model-repository", str(tmp / "repo"), "--host", "127.0.0.1",
                             "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0",
                             "--max-request-bytes", "65536"], stderr=subprocess.PIPE, text=True)
    ports = None
    for line in proc.stderr:  # JSON log lines; "listening" names the ports picked
        event = json.loads(line)
        if event.get("event") == "listening":
            ports = event
            break
    assert ports, "the server did not start"
    # Keep reading the access log so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    yield proc, f"http://127.0.0.1:{ports['http_port']}", f"127.0.0.1:{ports['grpc_port']}", \
        f"http://127.0.0.1:{ports['metrics_port']}/metrics"
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_http(server):
    _, url, _, _ = server
    assert requests.get(f"{url}/v2/health/live").status_code == 200
    assert requests.get(f"{url}/v2/health/ready").status_code == 200
    assert requests.get(f"{url}/v2").json()["name"] == "kestrel"
    meta = requests.get(f"{url}/v2/models/affine").json()
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}]
    x = [[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]]
    r = requests.post(f"{url}/v2/models/affine/infer",
                      json={"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 3], "data": x}]})
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["data"] == [3.0, 5.0, 7.0, -1.0, 2.0, 1.0]

    header = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 3],
                                     "parameters": {"binary_data_size": 24}}],
                         "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}).encode()
    r = requests.post(f"{url}/v2/models/affine/infer", data=header + np.array(x, np.float32).tobytes(),
                      headers={"Inference-Header-Content-Length": str(len(header))})
    assert r.status_code == 200, r.text
    n = int(r.headers["Inference-Header-Content-Length"])
    assert json.loads(r.content[:n])["outputs"][0]["parameters"]["binary_data_size"] == 24
    assert np.frombuffer(r.content[n:], np.float32).tolist() == [3.0, 5.0, 7.0, -1.0, 2.0, 1.0]


def test_http_errors(server):
    _, url, _, _ = server
    r = requests.post(f"{url}/v2/models/nope/infer", json={"inputs": []})
    assert r.status_code == 404 and "nope" in r.json()["error"]
    r = requests.post(f"{url}/v2/models/affine/infer", data=b"{not json")
    assert r.status_code == 400 and "malformed JSON" in r.json()["error"]
    r = requests.post(f"{url}/v2/models/affine/infer",
                      json={"inputs": [{"name": "x", "datatype": "INT32", "shape": [1, 3], "data": [1, 2, 3]}]})
    assert r.status_code == 400 and "datatype INT32" in r.json()["error"]
    r = requests.post(f"{url}/v2/models/affine/infer",
                      json={"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]})
    assert r.status_code == 400 and "shape [1,4]" in r.json()["error"]
    r = requests.post(f"{url}/v2/models/affine/infer", data=b" " * 70000)
    assert r.status_code == 413 and "exceeds" in r.json()["error"]


def test_grpc(server):
    import grpc
    import inference_service_pb2 as pb
    import inference_service_pb2_grpc as pb_grpc
    _, _, target, _ = server
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        assert stub.ServerLive(pb.ServerLiveRequest()).live
        assert stub.ServerReady(pb.ServerReadyRequest()).ready
        assert stub.ModelReady(pb.ModelReadyRequest(name="affine")).ready
        meta = stub.ModelMetadata(pb.ModelMetadataRequest(name="affine"))
        assert meta.inputs[0].name == "x" and list(meta.inputs[0].shape) == [-1, 3]
        request = pb.ModelInferRequest(model_name="affine", inputs=[
            pb.ModelInferRequest.InferInputTensor(name="x", datatype="FP32", shape=[1, 3])])
        request.raw_input_contents.append(np.array([1, 2, 3], np.float32).tobytes())
        response = stub.ModelInfer(request)
        assert response.outputs[0].name == "y" and list(response.outputs[0].shape) == [1, 3]
        assert np.frombuffer(response.raw_output_contents[0], np.float32).tolist() == [3.0, 5.0, 7.0]
        request.inputs[0].shape[:] = [1, 4]
        with pytest.raises(grpc.RpcError) as error:
            stub.ModelInfer(request)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_http_metadata_and_repository(server):
    _, url, _, _ = server
    assert requests.get(f"{url}/v2/models/affine/versions/1").json()["versions"] == ["1"]
    assert requests.get(f"{url}/v2/models/affine/ready").status_code == 200
    assert requests.get(f"{url}/v2/models/affine/versions/1/ready").status_code == 200
    assert requests.get(f"{url}/v2/models/affine").json()["outputs"] == [
        {"name": "y", "datatype": "FP32", "shape": [-1, 3]}]
    index = requests.post(f"{url}/v2/repository/index", json={}).json()
    assert {m["name"]: m["state"] for m in index} == {"affine": "READY", "affine_batched": "READY"}
    # Unload and load again through the repository API.
    assert requests.post(f"{url}/v2/repository/models/affine_batched/unload").status_code == 200
    r = requests.get(f"{url}/v2/models/affine_batched/ready")
    assert r.status_code == 400 and r.json()["error"]
    assert requests.post(f"{url}/v2/repository/models/affine_batched/load").status_code == 200
    assert requests.get(f"{url}/v2/models/affine_batched/ready").status_code == 200


def test_http_unknown_model_and_version(server):
    _, url, _, _ = server
    for path in ("/v2/models/nope", "/v2/models/nope/ready", "/v2/models/affine/versions/7"):
        r = requests.get(url + path)
        assert r.status_code == 404 and r.json()["error"], path
    r = requests.post(f"{url}/v2/models/nope/infer",
                      json={"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}]})
    assert r.status_code == 404 and "nope" in r.json()["error"]
    assert requests.get(f"{url}/v2/no/such/route").status_code == 404


def test_http_request_errors(server):
    _, url, _, _ = server
    infer = f"{url}/v2/models/affine/infer"

    def error(body, status, words, **kwargs):
        if isinstance(body, bytes):
            r = requests.post(infer, data=body or None, **kwargs)
        else:
            r = requests.post(infer, json=body, **kwargs)
        assert r.status_code == status, r.text
        message = r.json()["error"]
        assert words in message, message

    x = {"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}
    error(b"[1, 2", 400, "malformed JSON")
    error(b"[]", 400, "JSON object")
    error({"inputs": []}, 400, "non-empty array")
    error({"inputs": [dict(x, name="z")]}, 400, "no input 'z'")
    error({"inputs": [x, x]}, 400, "given twice")
    error({"inputs": [dict(x, datatype="FP99")]}, 400, "unknown datatype")
    error({"inputs": [dict(x, datatype="INT64")]}, 400, "datatype INT64")
    error({"inputs": [dict(x, shape=[3])]}, 400, "shape [3]")
    error({"inputs": [dict(x, data=[1, 2])]}, 400, "needs 3 elements")
    error({"inputs": [dict(x, data=[1, "two", 3])]}, 400, "expected a number")
    error({"inputs": [x], "outputs": [{"name": "nope"}]}, 400, "no output 'nope'")
    # Binary data whose size does not match its declaration.
    header = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3],
                                     "parameters": {"binary_data_size": 12}}]}).encode()
    error(header + b"\0" * 8, 400, "binary_data_size 12 exceeds",
          headers={"Inference-Header-Content-Length": str(len(header))})
    error(header + b"\0" * 16, 400, "no input's binary_data_size accounts for",
          headers={"Inference-Header-Content-Length": str(len(header))})
    error(b"{}", 400, "Inference-Header-Content-Length is 99", headers={"Inference-Header-Content-Length": "99"})
    error(b" " * 70000, 413, "exceeds 65536 bytes")
    error(b"", 400, "multipart/form-data", files={"x": ("x.bin", b"123")})
    # A chunked body (no Content-Length) is read too.
    body = json.dumps({"inputs": [x]}).encode()
    r = requests.post(infer, data=iter([body[:10], body[10:]]))
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [3.0, 5.0, 7.0], r.text
    # The connection is still usable after each error: a good request right after.
    with requests.Session() as session:
        assert session.post(infer, data=b"{bad").status_code == 400
        assert session.post(f"{url}/v2/models/nope/infer", data=b"{}").status_code == 404
        assert session.post(infer, json={"inputs": [x]}).json()["outputs"][0]["data"] == [3.0, 5.0, 7.0]


def test_grpc_errors_and_typed_contents(server):
    import grpc
    import inference_service_pb2 as pb
    import inference_service_pb2_grpc as pb_grpc
    _, _, target, _ = server
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        metadata = stub.ServerMetadata(pb.ServerMetadataRequest())
        assert metadata.name == "kestrel" and "binary_tensor_data" in metadata.extensions
        tensor = pb.ModelInferRequest.InferInputTensor
        request = pb.ModelInferRequest(model_name="affine", inputs=[tensor(
            name="x", datatype="FP32", shape=[2, 3], contents=pb.InferTensorContents(fp32_contents=[1, 2, 3, 4, 5, 6]))])
        response = stub.ModelInfer(request)
        assert np.frombuffer(response.raw_output_contents[0], np.float32).tolist() == [3, 5, 7, 9, 11, 13]

        def code(call, message):
            with pytest.raises(grpc.RpcError) as error:
                call(message)
            return error.value.code(), error.value.details()

        assert code(stub.ModelMetadata, pb.ModelMetadataRequest(name="nope"))[0] == grpc.StatusCode.NOT_FOUND
        assert code(stub.ModelReady, pb.ModelReadyRequest(name="nope"))[0] == grpc.StatusCode.NOT_FOUND
        status, details = code(stub.ModelInfer, pb.ModelInferRequest(model_name="nope", inputs=request.inputs))
        assert status == grpc.StatusCode.NOT_FOUND and "nope" in details
        wrong_type = pb.ModelInferRequest(model_name="affine", inputs=[tensor(
            name="x", datatype="INT32", shape=[1, 3], contents=pb.InferTensorContents(int_contents=[1, 2, 3]))])
        status, details = code(stub.ModelInfer, wrong_type)
        assert status == grpc.StatusCode.INVALID_ARGUMENT and "datatype INT32" in details
        short = pb.ModelInferRequest(model_name="affine", inputs=[tensor(name="x", datatype="FP32", shape=[1, 3])])
        short.raw_input_contents.append(b"\0" * 8)
        status, details = code(stub.ModelInfer, short)
        assert status == grpc.StatusCode.INVALID_ARGUMENT and "needs 12 bytes" in details
        big = pb.ModelInferRequest(model_name="affine", inputs=[tensor(name="x", datatype="FP32", shape=[7000, 3])])
        big.raw_input_contents.append(b"\0" * 84000)
        assert code(stub.ModelInfer, big)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED


def metric(metrics_url, name):
    for line in requests.get(metrics_url).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_concurrent_requests_run_as_one_batch(server):
    import grpc
    import inference_service_pb2 as pb
    import inference_service_pb2_grpc as pb_grpc
    _, url, target, metrics_url = server
    labels = '{model="affine_batched",version="1"}'
    executions = metric(metrics_url, "kestrel_execution_count" + labels)
    rows = [[[float(i), 10.0 * i, -i]] for i in range(4)]
    results = [None] * 4

    def http_call(i):  # two clients over HTTP, two over gRPC
        r = requests.post(f"{url}/v2/models/affine_batched/infer",
                          json={"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": rows[i]}]})
        results[i] = r.json()["outputs"][0]["data"]

    def grpc_call(i):
        with grpc.insecure_channel(target) as channel:
            request = pb.ModelInferRequest(model_name="affine_batched", inputs=[
                pb.ModelInferRequest.InferInputTensor(name="x", datatype="FP32", shape=[1, 3])])
            request.raw_input_contents.append(np.array(rows[i], np.float32).tobytes())
            response = pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request)
            assert list(response.outputs[0].shape) == [1, 3]
            results[i] = np.frombuffer(response.raw_output_contents[0], np.float32).tolist()

    threads = [threading.Thread(target=http_call if i < 2 else grpc_call, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for i in range(4):
        assert results[i] == (np.array(rows[i], np.float32) * 2 + 1).ravel().tolist(), i
    # One execution of four rows served the four requests.
    assert metric(metrics_url, "kestrel_execution_count" + labels) - executions == 1
    assert metric(metrics_url, 'kestrel_batch_size_bucket{model="affine_batched",version="1",le="2"}') == 0
    assert metric(metrics_url, 'kestrel_batch_size_bucket{model="affine_batched",version="1",le="4"}') == 1


def test_sigterm_stops_gracefully(server):
    proc, url, _, _ = server
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/v2/health/live", timeout=2)
