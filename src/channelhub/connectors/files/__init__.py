"""Files (CSV or JSON) on a local folder or an SFTP server, for ERPs and 3PLs."""

from channelhub.connectors.files.connector import FilesConfig, FilesConnector, open_storage

__all__ = ["FilesConfig", "FilesConnector", "open_storage"]
