"""The HTTP lookup service of live predictions (``fti serve``)."""
