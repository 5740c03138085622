"""The Python side of tools/kwe: building, booting, testing and debugging KWE."""
