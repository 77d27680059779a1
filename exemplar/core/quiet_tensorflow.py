"""Import TensorFlow without its start-up chatter on the terminal.

On a machine without a GPU, TensorFlow's C++ start-up prints "Could not find cuda drivers",
"failed call to cuInit" and a oneDNN notice straight to file descriptor 2, past Python's logging
and past TF_CPP_MIN_LOG_LEVEL (absl logs them before that setting is read). A CLI user should not
see that. So the command line imports TensorFlow and runs its device probe with descriptor 2
pointed at /dev/null, then restores it: later warnings and errors reach the terminal as usual.
TF_CPP_MIN_LOG_LEVEL=0 in the environment keeps the chatter (for debugging).
"""

import os
import sys


def import_tensorflow_quietly():
    """Import tensorflow (once) and probe its devices with stderr silenced at the descriptor level."""
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        import tensorflow  # noqa: F401

        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe ("failed call to cuInit") happens here
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
