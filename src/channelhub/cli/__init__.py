"""The ``channelhub`` command line."""

import warnings

# asyncssh (SFTP for the files connector) still defines DSA key types, and cryptography warns
# about them at import: a warning a person at the console can do nothing about.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"asyncssh\.")
