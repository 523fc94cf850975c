"""The element types cnnspec counts memory in, by PyTorch's names, with their sizes in bytes
(a leaf: the command line offers them without importing the library)."""

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
DTYPES = tuple(DTYPE_BYTES)
