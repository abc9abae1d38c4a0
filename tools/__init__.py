"""Local tooling: the Docker-free stand-ins for `sam local` (server, invoker, backend)."""
