#!/bin/sh
cat /etc/greeting.txt
