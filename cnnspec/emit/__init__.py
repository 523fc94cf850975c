"""PyTorch source written from a graph, without importing torch.

``emitter`` builds the generated file as structure (the nodes of ``code``: what the module
tree of ``structure`` becomes, class parameters chosen by ``parameters``, class blocks by
``classes``); ``render`` writes it out, with ``pyformat`` laying statements out as ruff format
does and ``literals`` writing constants and docstrings; ``names`` keeps the names the file
uses for itself, ``header`` says what the file was built from.
"""
