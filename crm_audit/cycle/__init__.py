"""The audit cycle as a library call: a request in, a result out, printing nothing."""
