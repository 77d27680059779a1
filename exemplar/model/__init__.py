"""The network: the frozen encoder and its checkpoint, ab bins, correspondence, layers, weights."""
