"""The ``channelhub`` command line."""
