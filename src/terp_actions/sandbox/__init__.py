"""Local stand-ins and throwaway repositories for the demo and the tests."""

# The tokens the stand-ins accept: fixed, public, and worthless anywhere else.
GITHUB_TOKEN = "ghs_sandbox"  # noqa: S105
DO_TOKEN = "dop_v1_sandbox"  # noqa: S105
