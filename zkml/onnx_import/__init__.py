"""ONNX front end: load a model as exporters write it (external data included), check it,
infer shapes, pin the batch size to 1, fold constant subgraphs, and hand the compiler a small
``Graph`` of supported nodes, or report every unsupported op at once."""
