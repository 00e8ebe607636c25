"""The release this build of terp-actions is: the commit its tag names, written here by the
release workflow before the wheel is built ("" in a development checkout)."""

COMMIT = ""
