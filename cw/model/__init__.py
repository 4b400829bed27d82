"""Model layer: documents (msgspec structs) and the error family. Imports only stdlib and msgspec."""
