"""PyTorch source written from a graph, without importing torch."""
