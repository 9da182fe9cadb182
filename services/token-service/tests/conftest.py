"""Token-service test set-up: makes `token_fakes` importable and offers fixtures."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
