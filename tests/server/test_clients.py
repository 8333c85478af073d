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
    yield proc, f"http://127.0.0.1:{ports['http_port']}", f"127.0.0.1:{ports['grpc_port']}"
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_http(server):
    _, url, _ = server
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
    _, url, _ = server
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
    _, _, target = server
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


def test_sigterm_stops_gracefully(server):
    proc, url, _ = server
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/v2/health/live", timeout=2)
