"""Torch-free serving: ONNX Runtime session, the BentoML service, input limits."""
