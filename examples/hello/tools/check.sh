#!/bin/sh
echo "tools ok: $(uname -s)"
