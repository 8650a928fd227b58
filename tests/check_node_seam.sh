#!/usr/bin/env bash
# Fails if node/ reaches the OS directly instead of going through Env (DESIGN.md "The seam").
# Two independent checks:
#  1. the sources: no real clocks, rand, sockets, files, threads, sleeps or environment reads;
#  2. the compiled library (if given): no undefined references to the libc/pthread functions that
#     would do those things, whatever header or macro smuggled them in.
set -u
node_dir=$1
lib=${2:-}
status=0

pattern='std::chrono::(system|steady|high_resolution)_clock|[^_a-z.>]time\(|[^_a-z]s?rand\(|random_device|std::thread|std::jthread|std::async|sleep_for|sleep_until|usleep|nanosleep|getenv|<sys/socket\.h>|<netinet/|<arpa/inet\.h>|<fstream>|<filesystem>|<thread>|<unistd\.h>|<fcntl\.h>|<sys/epoll\.h>|<ctime>|<random>|fopen\(|epoll_'
hits=$(grep -rnE "$pattern" "$node_dir" --include='*.hpp' --include='*.cpp' --include='*.h' | grep -v '// seam-ok' || true)
if [ -n "$hits" ]; then
  echo "node/ sources reach the OS directly (use Env instead):"
  echo "$hits"
  status=1
fi

if [ -n "$lib" ]; then
  if [ ! -f "$lib" ]; then
    echo "library $lib not found"; exit 1
  fi
  forbidden='^(socket|connect|bind|listen|accept|accept4|open|open64|openat|fopen|fopen64|creat|clock_gettime|gettimeofday|time|rand|srand|random|srandom|getrandom|pthread_create|nanosleep|usleep|sleep|epoll_create|epoll_create1|epoll_wait|getenv|secure_getenv|fork|execve)(@.*)?$'
  syms=$(nm -u --format=posix "$lib" 2>/dev/null | awk '{print $1}' | grep -E "$forbidden" | sort -u || true)
  if [ -n "$syms" ]; then
    echo "libslotlab_node references OS functions directly:"
    echo "$syms"
    status=1
  fi
fi

[ $status -eq 0 ] && echo "node/ goes through Env only"
exit $status
