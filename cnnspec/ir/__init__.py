"""The intermediate representation: the layer graph and the typed facts the passes attach to it."""
