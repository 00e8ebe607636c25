"""Local stand-ins and throwaway repositories for the demo and the tests."""
