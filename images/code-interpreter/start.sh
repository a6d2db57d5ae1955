#!/bin/sh
# The sandbox's main process: keeps the code interpreter server running (a crash restarts it a second later),
# so the sandbox itself never stops because of what code did to the server.
while :; do
    python3 /opt/burrow/code-interpreter/server.py
    echo "burrow code interpreter: server exited with $?, restarting" >&2
    sleep 1
done
