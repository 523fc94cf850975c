"""The only modules that import torch: the graph built as nn.Modules, verify, profile, and the
importer that writes a model as a spec."""
