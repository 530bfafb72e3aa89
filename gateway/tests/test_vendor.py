"""The vendored JavaScript is the pinned release, byte for byte (make vendor refreshes both together)."""
import hashlib
import json
from pathlib import Path

GATEWAY = Path(__file__).resolve().parents[1]
VENDOR = GATEWAY / "buzon_gateway" / "static" / "vendor"


def test_node_forge_is_pinned_exactly_and_the_lock_agrees():
    version = json.loads((GATEWAY / "package.json").read_text())["dependencies"]["node-forge"]
    assert version[0].isdigit(), "pin an exact version, not a range"
    bloqueo = json.loads((GATEWAY / "package-lock.json").read_text())
    assert bloqueo["packages"]["node_modules/node-forge"]["version"] == version


def test_the_vendored_file_is_the_one_recorded():
    esperado, nombre = (VENDOR / "SHA256SUMS").read_text().split()
    assert hashlib.sha256((VENDOR / nombre).read_bytes()).hexdigest() == esperado
    assert (VENDOR / "forge.LICENSE").exists()
