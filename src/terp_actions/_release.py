"""Which commit this build of terp-actions is, for `init` to pin.

``COMMIT``: the commit a release's tag names, written by the release workflow before the wheel is
built ("" otherwise). ``BUILT_FROM``: the commit of the git checkout the wheel or sdist was built
from, written by the build (setup.py; "" when it was not built from a checkout).
"""

COMMIT = ""
BUILT_FROM = ""
